"""Cross-architecture generalisation (notebook 10, paper Table 3): ConvNet-distilled sets, evaluated by nets of
other architectures trained from scratch; the Mean and STD rows over architectures."""
from __future__ import annotations

import pandas as pd

from .. import paper
from .grids import STUDIES, base_grid
from .tables import cell_text, results_table

ROWS = ["eval.arch"]


@STUDIES.register("10_cross_arch")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
         archs: list[str], runs: int | None = None) -> list[dict]:
    """Table 3: one ConvNet-distilled set per method and mode, evaluated by nets of each architecture trained from
    scratch (the paper's table is DM alone)."""
    return [{**base_grid(profile, [dataset], methods, modes, ipc, seeds, runs), "set": {"eval.arch": archs}}]


def paper_column(dataset: str, ipc: int, metric: str = "eod_max") -> paper.PaperLookup:
    """Table 3 (DM, IPC 50) for our row keys (eval.arch,); no eval.arch: the distillation net, a ConvNet. Other
    backbones (DC, CAFE, IDC) get no paper cell: the paper reports none."""
    return paper.lookup(3, ROWS, defaults={"eval.arch": "convnet"}, metric=metric, dataset=dataset, ipc=ipc)


def table(agg: pd.DataFrame, dataset: str, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per evaluation architecture; the paper's Table 3 beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper_column(dataset, ipc, metric), metric=metric)


def mean_std_rows(agg: pd.DataFrame, metric: str = "eod_max") -> pd.DataFrame:
    """Per (method, mode): the mean and the population standard deviation (ddof 0, as the paper's Table 3)
    over all of its rows (e.g. one per architecture) of EOD and accuracy, as "EOD (Acc)" strings in two rows."""
    rows = {}
    for (method, mode), group in agg.groupby(["method", "mode"], sort=False):
        column = (method, mode)
        rows.setdefault("Mean", {})[column] = cell_text(group[metric].mean(), group["acc"].mean())
        spread = group[[metric, "acc"]].std(ddof=0)
        rows.setdefault("STD", {})[column] = cell_text(spread[metric], spread["acc"])
    table = pd.DataFrame(rows).T
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["method", "mode"])
    return table
