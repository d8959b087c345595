"""Main table (notebook 01, paper Table 1): datasets x IPC x methods (DC, DM, CAFE, IDC) x modes, the selection
baselines and FULL beside, the paper's numbers."""
from __future__ import annotations

import pandas as pd

from .. import paper
from ..data.datasets import RENDERS, reference_rendered
from ..errors import check_choice
from ..methods.selection import selection_methods
from .grids import STUDIES, base_grid
from .tables import paper_difference, paper_only_table, results_table

ROWS = ["dataset", "ipc"]


@STUDIES.register("01_main_table")
def grid(profile: str, datasets: list[str], methods: list[str], modes: list[str], ipc: list[int],
         seeds: list[int], runs: int | None = None, full: bool = True, render: str = "clean",
         baselines: bool = True) -> list[dict]:
    """Table 1: datasets x IPC x methods x modes, and FULL; with ``baselines`` the selection baselines (IPC real
    images per class, no mode) at each IPC too; ``render="reference"`` paints the sets the published code paints
    otherwise with its pixels (the others are painted alike either way)."""
    methods = list(dict.fromkeys([*methods, *selection_methods()])) if baselines else methods
    if check_choice("render", render, RENDERS) == "clean":
        return [base_grid(profile, datasets, methods, modes, ipc, seeds, runs, full)]
    repainted = set(reference_rendered())
    split = {"clean": [name for name in datasets if name not in repainted],
             "reference": [name for name in datasets if name in repainted]}
    return [{**base_grid(profile, names, methods, modes, ipc, seeds, runs, full), "data": {"render": value}}
            for value, names in split.items() if names]


def table(agg: pd.DataFrame, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, IPC), the paper's Table 1 beside ours (see ``results_table``)."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(1, ROWS, metric=metric), metric=metric)


def paper_others(table: pd.DataFrame, methods: list[str], modes: list[str], metric: str = "eod_max"
                 ) -> pd.DataFrame:
    """The paper's Table 1 (Table 9 for eod_mean) at ``table``'s rows for the backbones not in ``methods`` (say CAFE
    and IDC beside a DM-only run); see ``paper_only_table``."""
    return paper_only_table(table.index, paper.lookup(1, ROWS, metric=metric), paper.methods(1), modes, ran=methods)


def difference(agg: pd.DataFrame) -> pd.DataFrame:
    """Ours beside Table 1, and ours - paper, at every (dataset, IPC, method, mode) both report
    (``paper_difference``)."""
    return paper_difference(agg, rows=ROWS, paper=paper.lookup(1, ROWS))
