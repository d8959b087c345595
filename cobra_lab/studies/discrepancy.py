"""Barycenter discrepancies (notebook 09, paper Table 4): COBRA under each discrepancy, vanilla beside."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["distill.discrepancy"]


@STUDIES.register("09_discrepancy")
def grid(profile: str, dataset: str, methods: list[str], ipc: int, seeds: list[int], discrepancies: list[str],
         vanilla: bool = True, runs: int | None = None) -> list[dict]:
    """Table 4: COBRA with each barycenter discrepancy, vanilla beside as the reference."""
    grids = [{**base_grid(profile, [dataset], methods, ["cobra"], ipc, seeds, runs),
              "set": {"distill.discrepancy": discrepancies}}]
    return ([base_grid(profile, [dataset], methods, ["vanilla"], ipc, seeds, runs)] if vanilla else []) + grids


def paper_column(dataset: str, ipc: int, metric: str = "eod_max") -> paper.PaperLookup:
    """Table 4 (DM, IPC 10; EOD only) for our row keys (distill.discrepancy,), COBRA only."""
    return paper.lookup(4, ROWS, metric=metric, dataset=dataset, ipc=ipc)


def table(agg: pd.DataFrame, dataset: str, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per discrepancy; the paper's Table 4 EOD beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper_column(dataset, ipc, metric), metric=metric)


def labelled(agg: pd.DataFrame) -> pd.DataFrame:
    """``agg`` with a ``variant`` column: vanilla, or the discrepancy COBRA ran with (for ``ranking_sentence``)."""
    return agg.assign(variant=[mode if mode != "cobra" else discrepancy
                               for mode, discrepancy in zip(agg["mode"], agg[ROWS[0]])])
