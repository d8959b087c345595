"""Noisy group labels (notebook 04, paper Table 15): a fraction rho of the distiller's group labels is wrong."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["dataset", "group_noise"]


@STUDIES.register("04_label_noise")
def grid(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int], rhos: list[float],
         clean_modes: list[str], noisy_modes: list[str], runs: int | None = None) -> list[dict]:
    """Table 15: clean-label baselines, then the fair modes with a fraction rho of group labels wrong."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"group_noise": 0.0}},
            {**base_grid(profile, datasets, methods, noisy_modes, ipc, seeds, runs), "data": {"group_noise": rhos}}]


def table(agg: pd.DataFrame, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, rho); the paper's Table 15 beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(15, ROWS, ipc=ipc), metric=metric)
