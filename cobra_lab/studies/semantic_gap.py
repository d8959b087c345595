"""Semantic GAP (notebook 03, paper Table 19): a constant colour offset gamma on the minority images."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import results_table


@STUDIES.register("03_semantic_gap")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
         gammas: list[float], runs: int | None = None, full: bool = True) -> list[dict]:
    """Table 19: a constant colour offset gamma on the minority images, FULL beside."""
    return [{**base_grid(profile, [dataset], methods, modes, ipc, seeds, runs, full),
             "data": {"semantic_gap": gammas}}]


def table(agg: pd.DataFrame, dataset: str, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per gamma; the paper's Table 19 beside ours where our dataset and IPC are its."""
    return results_table(agg, rows=["semantic_gap"], paper=paper.lookup(19, ["semantic_gap"], metric=metric,
                                                                               dataset=dataset, ipc=ipc),
                         metric=metric)
