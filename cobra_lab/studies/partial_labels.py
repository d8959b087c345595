"""Partially known group labels (notebook 05, paper Table 16): only a fraction eta of the distiller's group labels
is known, the rest imputed by K-means (the paper's, on flattened images, or ours, on pooled pixels: see
``data.groups``); how well the imputation recovers them, shown beside the results."""
from __future__ import annotations

import pandas as pd

from .. import paper
from ..data import load
from ..data.groups import DEFAULT_IMPUTATION, known_count
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["dataset", "known_groups"]


@STUDIES.register("05_partial_labels")
def grid(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int], etas: list[float],
         clean_modes: list[str], partial_modes: list[str], runs: int | None = None,
         imputation: str = DEFAULT_IMPUTATION) -> list[dict]:
    """Table 16: clean-label baselines, then the fair modes with only a fraction eta of group labels known, the
    rest imputed by ``imputation``."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"known_groups": 1.0}},
            {**base_grid(profile, datasets, methods, partial_modes, ipc, seeds, runs),
             "data": {"known_groups": etas, "imputation": imputation}}]


def table(agg: pd.DataFrame, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, eta); the paper's Table 16 beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(16, ROWS, metric=metric, ipc=ipc), metric=metric)


def imputation_accuracy(datasets: list[str], etas: list[float], skew: float | None = None, seed: int = 0,
                        imputation: str = DEFAULT_IMPUTATION) -> pd.DataFrame:
    """Per dataset and known fraction eta: the share of train group labels the distiller sees correctly when the
    unknown ones are imputed by ``imputation``, overall and among the imputed ones (the known ones are exact, so
    imputed = (overall - eta') / (1 - eta'), eta' the kept share)."""
    rows = []
    for dataset, eta in ((dataset, eta) for dataset in datasets for eta in etas):
        train = load(dataset, skew=skew, known_groups=eta, seed=seed, imputation=imputation).train
        correct = float((train.a == train.a_observed).float().mean())
        kept = known_count(len(train), eta) / len(train)
        imputed = (correct - kept) / (1 - kept) if kept < 1 else float("nan")
        rows.append({"dataset": dataset, "imputation": imputation, "known_groups": eta,
                     "observed_accuracy": 100 * correct, "imputed_accuracy": 100 * imputed})
    return pd.DataFrame(rows, columns=["dataset", "imputation", "known_groups", "observed_accuracy",
                                       "imputed_accuracy"])


IMPUTED_COLUMNS = {"observed_accuracy": ("group labels seen correctly (%)", "all", ""),
                   "imputed_accuracy": ("group labels seen correctly (%)", "imputed", "")}


def with_imputation_accuracy(table: pd.DataFrame, bold: pd.DataFrame,
                             accuracy: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``table`` (and its ``bold`` marks) with, in front, the share of group labels the distiller saw correctly in
    each (dataset, eta) row, all of them and the imputed ones (``imputation_accuracy`` rows; "" where none)."""
    found = accuracy.set_index(ROWS)
    front = pd.DataFrame("", index=table.index, columns=pd.MultiIndex.from_tuples(IMPUTED_COLUMNS.values()))
    for key in table.index:
        if key in found.index:
            for column, header in IMPUTED_COLUMNS.items():
                value = found.loc[key, column]
                front.loc[key, header] = "" if pd.isna(value) else f"{value:.1f}"
    front.columns.names = table.columns.names
    merged = pd.concat([front, table], axis=1)
    merged.attrs = table.attrs  # the notes on the paper's cells
    return merged, pd.concat([pd.DataFrame(False, index=front.index, columns=front.columns), bold], axis=1)
