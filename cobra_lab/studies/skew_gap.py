"""Group imbalance and separation (notebook 02, paper Table 2 and Figure 2): a SKEW sweep and a GAP sweep, for DC,
DM and IDC in the paper."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import paper_only_table, results_table, select


@STUDIES.register("02_skew_gap")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
         skews: list[float], fixed_gap: int, gaps: list[int], fixed_skew: float, runs: int | None = None,
         full: bool = True) -> list[dict]:
    """Table 2 / Figure 2: a SKEW sweep at a fixed GAP, and a GAP sweep at a fixed SKEW."""
    base = base_grid(profile, [dataset], methods, modes, ipc, seeds, runs, full)
    return [{**base, "data": {"skew": skews, "gap": fixed_gap}}, {**base, "data": {"skew": fixed_skew, "gap": gaps}}]


def panels(agg: pd.DataFrame, fixed_gap: int, fixed_skew: float) -> dict[str, pd.DataFrame]:
    """The two sweeps' results: {"skew": the rows at the fixed GAP, "gap": the rows at the fixed SKEW}."""
    return {"skew": select(agg, gap=fixed_gap), "gap": select(agg, skew=fixed_skew)}


def table(rows: pd.DataFrame, knob: str, dataset: str, ipc: int, metric: str = "eod_max"
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sweep as a table, one row per ``knob`` value; the paper's Table 2 beside ours where our dataset and
    IPC are its (CIFAR10-S, 50)."""
    return results_table(rows, rows=[knob], paper=paper_column(knob, dataset, ipc), metric=metric)


def paper_column(knob: str, dataset: str, ipc: int) -> paper.PaperLookup:
    """Table 2's sweep over ``knob`` (skew or gap) for our row keys (knob value,); it answers only at CIFAR10-S,
    IPC 50."""
    return paper.lookup(2, [knob], sweep=knob, dataset=dataset, ipc=ipc)


def paper_others(table: pd.DataFrame, knob: str, dataset: str, ipc: int, methods: list[str], modes: list[str]
                 ) -> pd.DataFrame:
    """The paper's Table 2 at ``table``'s rows for the backbones not in ``methods`` (say IDC beside a DM-only
    run); no columns outside the paper's setting (see ``paper_only_table``)."""
    return paper_only_table(table.index, paper_column(knob, dataset, ipc), paper.methods(2), modes, ran=methods)
