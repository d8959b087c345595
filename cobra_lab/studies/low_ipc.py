"""Very small budgets (notebook 11, paper Table 10): IPC 1, 3 and 5; the paper reports DC and DM, any backbone runs."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import paper
from .figures import sweep_figure
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["dataset", "ipc"]


@STUDIES.register("11_low_ipc")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipcs: list[int], seeds: list[int],
         runs: int | None = None) -> list[dict]:
    """Table 10: IPC 1, 3 and 5 (the paper: DC and DM) for each of ``methods``."""
    return [base_grid(profile, [dataset], methods, modes, ipcs, seeds, runs)]


def table(agg: pd.DataFrame, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, IPC), the paper's Table 10 beside ours."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(10, ROWS, metric=metric), metric=metric)


def figure(agg: pd.DataFrame, metric: str = "eod_max") -> Figure:
    """EOD and accuracy against IPC, a line per (method, mode)."""
    return sweep_figure({"ipc": agg.astype({"ipc": float})}, metric)
