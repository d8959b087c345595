"""Standard fairness interventions beside COBRA (notebook 12, paper Appendix N, Table 18): what each one runs, its
grid and its table."""
from __future__ import annotations

import pandas as pd

from .. import paper
from ..errors import UserError
from ..methods.base import DistillConfig
from ..sections import EvalConfig
from .grids import STUDIES, base_grid
from .tables import cell_text, paper_text

# label -> (stage, mode, config overrides); the definitions are in the notebook and in the modules named
INTERVENTIONS = {
    "vanilla": ("none", "vanilla", {}),
    "RF": ("before distillation: fair extractor", "vanilla", {"distill.extractor": "fair"}),
    "DF": ("during distillation: reweighted loss", "df", {}),
    "MF": ("after distillation: fair downstream", "vanilla", {"eval.group_weighting": "balanced"}),
    "COBRA": ("during distillation: barycenter target", "cobra", {}),
}

# the options the interventions set, at the schema's defaults (a table column is absent when no run set it)
PLAIN = {"distill.extractor": DistillConfig.defaults()["extractor"],
         "eval.group_weighting": EvalConfig.defaults()["group_weighting"]}


@STUDIES.register("12_interventions")
def grid(profile: str, dataset: str, methods: list[str], ipc: int, seeds: list[int], compared: list[str],
         extractor_epochs: int = 1, runs: int | None = None) -> list[dict]:
    """Table 18: vanilla, RF, DF, MF and COBRA, one grid entry each."""
    grids = []
    for name in compared:
        if name not in INTERVENTIONS:
            raise UserError(f"unknown intervention {name!r}; known: {', '.join(INTERVENTIONS)}")
        _, mode, overrides = INTERVENTIONS[name]
        if name == "RF":
            overrides = {**overrides, "distill.extractor_epochs": extractor_epochs}
        grids.append({**base_grid(profile, [dataset], methods, [mode], ipc, seeds, runs), "set": overrides})
    return grids


def paper_column(dataset: str, ipc: int, metric: str = "eod_max") -> paper.PaperLookup:
    """Table 18 (IPC 10) for our row keys (intervention,), where the paper reports the dataset at ``ipc``."""
    return paper.lookup(18, ["intervention"], metric=metric, dataset=dataset, ipc=ipc)


def label(row: pd.Series) -> str:
    """Which intervention an aggregated result row is."""
    for name, (_, mode, overrides) in INTERVENTIONS.items():
        if row["mode"] == mode and all(row.get(key) == value for key, value in overrides.items()) and \
                (overrides or all(row.get(key, default) == default for key, default in PLAIN.items())):
            return name
    return "other"


def interventions_table(agg: pd.DataFrame, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per intervention (dataset, method, IPC): its stage, "EOD (Acc)" and the paper's Table 18 value
    where the paper reports that dataset at that IPC; bold marks the lowest EOD."""
    frame = labelled(agg)
    frame["order"] = frame["intervention"].map({name: k for k, name in enumerate(INTERVENTIONS)})
    frame = frame.sort_values(["dataset", "method", "ipc", "order"])
    table = pd.DataFrame({"dataset": frame["dataset"], "method": frame["method"], "ipc": frame["ipc"],
                          "intervention": frame["intervention"],
                          "stage": [INTERVENTIONS.get(name, ("?",))[0] for name in frame["intervention"]],
                          "EOD (Acc)": [cell_text(e, a) for e, a in zip(frame[metric], frame["acc"])],
                          "paper": [_paper_cell(row, metric) for _, row in frame.iterrows()]})
    table = table.set_index(["dataset", "method", "ipc", "intervention"])
    best = frame.groupby(["dataset", "method", "ipc"])[metric].transform("min") == frame[metric]
    bold = pd.DataFrame({"stage": False, "EOD (Acc)": best.to_numpy(), "paper": False}, index=table.index)
    return table, bold


def _paper_cell(row: pd.Series, metric: str) -> str:
    """The paper's Table 18 cell for an aggregated row ("" where it reports none)."""
    value = paper_column(row["dataset"], row["ipc"], metric)((row["intervention"],), row["method"], row["mode"])
    return paper_text(*value) if value else ""


def labelled(agg: pd.DataFrame) -> pd.DataFrame:
    """``agg`` with an ``intervention`` column naming each row's intervention (for bar charts by intervention)."""
    return agg.assign(intervention=[label(row) for _, row in agg.iterrows()])
