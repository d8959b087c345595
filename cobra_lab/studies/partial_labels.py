"""Partially known group labels (notebook 05, paper Table 16): only a fraction eta of the distiller's group labels
is known, the rest imputed by K-means; how well the imputation recovers them."""
from __future__ import annotations

import pandas as pd

from .. import paper
from ..data import load
from ..data.groups import known_count
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["dataset", "known_groups"]


@STUDIES.register("05_partial_labels")
def grid(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int], etas: list[float],
         clean_modes: list[str], partial_modes: list[str], runs: int | None = None) -> list[dict]:
    """Table 16: clean-label baselines, then the fair modes with only a fraction eta of group labels known."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"known_groups": 1.0}},
            {**base_grid(profile, datasets, methods, partial_modes, ipc, seeds, runs),
             "data": {"known_groups": etas}}]


def table(agg: pd.DataFrame, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, eta); the paper's Table 16 beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(16, ROWS, metric=metric, ipc=ipc), metric=metric)


def imputation_accuracy(dataset: str, etas: list[float], skew: float | None = None, seed: int = 0) -> pd.DataFrame:
    """Per known fraction eta: the share of train group labels the distiller sees correctly, overall and among
    the imputed ones (the known ones are exact, so imputed = (overall - eta') / (1 - eta'), eta' the kept share)."""
    rows = []
    for eta in etas:
        train = load(dataset, skew=skew, known_groups=eta, seed=seed).train
        correct = float((train.a == train.a_observed).float().mean())
        kept = known_count(len(train), eta) / len(train)
        imputed = (correct - kept) / (1 - kept) if kept < 1 else float("nan")
        rows.append({"known_groups": eta, "observed_accuracy": 100 * correct, "imputed_accuracy": 100 * imputed})
    return pd.DataFrame(rows)
