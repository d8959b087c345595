"""Group imbalance and separation (notebook 02, paper Table 2 and Figure 2): a SKEW sweep and a GAP sweep, for DC,
DM and IDC in the paper.

The paper's GAP sweep starts from identical groups (Appendix F): ``render: shared`` paints every image alike, so
at GAP 0 the groups are the same images and each level adds the cumulative corruption to the minority images.
``gap_render: clean`` keeps the benchmark's own colouring under the ladder instead (a different experiment)."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import paper_only_table, results_table, select

SWEEP_RENDER = {"skew": "clean"}  # the SKEW sweep runs on the benchmark as built (the GAP sweep's render is a knob)


@STUDIES.register("02_skew_gap")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
         skews: list[float], fixed_gap: int, gaps: list[int], fixed_skew: float, runs: int | None = None,
         full: bool = True, gap_render: str = "shared") -> list[dict]:
    """Table 2 / Figure 2: a SKEW sweep at a fixed GAP, and a GAP sweep at a fixed SKEW painted by ``gap_render``."""
    base = base_grid(profile, [dataset], methods, modes, ipc, seeds, runs, full)
    return [{**base, "data": {"skew": skews, "gap": fixed_gap}},
            {**base, "data": {"skew": fixed_skew, "gap": gaps, "render": gap_render}}]


def fixed_knobs(knob: str, fixed_gap: int, fixed_skew: float, gap_render: str = "shared") -> dict:
    """What a sweep over ``knob`` holds fixed: GAP and render for the SKEW sweep, SKEW and render for the GAP one."""
    if knob == "skew":
        return {"gap": fixed_gap, "render": SWEEP_RENDER["skew"]}
    return {"skew": fixed_skew, "render": gap_render}


def panels(agg: pd.DataFrame, fixed_gap: int, fixed_skew: float, gap_render: str = "shared"
           ) -> dict[str, pd.DataFrame]:
    """The two sweeps' results: {"skew": the rows at the fixed GAP, "gap": the rows at the fixed SKEW}, each in its
    sweep's render."""
    return {knob: select(agg, **fixed_knobs(knob, fixed_gap, fixed_skew, gap_render)) for knob in ("skew", "gap")}


def table(rows: pd.DataFrame, knob: str, dataset: str, ipc: int, metric: str = "eod_max",
          fixed: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sweep as a table, one row per ``knob`` value; the paper's Table 2 beside ours where our setting is its
    (CIFAR10-S, IPC 50, and the ``fixed`` knobs at the paper's values: see ``paper_column``)."""
    return results_table(rows, rows=[knob], paper=paper_column(knob, dataset, ipc, fixed, metric), metric=metric)


def paper_column(knob: str, dataset: str, ipc: int, fixed: dict | None = None, metric: str = "eod_max"
                 ) -> paper.PaperLookup:
    """Table 2's sweep over ``knob`` (skew or gap) for our row keys (knob value,); it answers only at CIFAR10-S,
    IPC 50, with the ``fixed`` knobs (``fixed_knobs``) at the paper's: GAP 0 for the SKEW sweep, SKEW 0.8 from
    identical groups (render shared) for the GAP sweep. The paper prints the max EOD alone (none for eod_mean)."""
    return paper.lookup(2, [knob], metric=metric, sweep=knob, dataset=dataset, ipc=ipc, **(fixed or {}))


def paper_others(table: pd.DataFrame, knob: str, dataset: str, ipc: int, methods: list[str], modes: list[str],
                 fixed: dict | None = None, metric: str = "eod_max") -> pd.DataFrame:
    """The paper's Table 2 at ``table``'s rows for the backbones not in ``methods`` (say IDC beside a DM-only
    run); no columns outside the paper's setting (see ``paper_only_table``)."""
    return paper_only_table(table.index, paper_column(knob, dataset, ipc, fixed, metric), paper.methods(2), modes,
                            ran=methods)
