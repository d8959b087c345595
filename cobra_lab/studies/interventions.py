"""Standard fairness interventions beside COBRA (paper Appendix N, Table 18): what each one runs, and its table."""
from __future__ import annotations

import pandas as pd

from ..paper import table18_lookup
from ..schema import DistillConfig, EvalConfig
from ..tables import cell_text, paper_text

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
    frame = agg.assign(intervention=[label(row) for _, row in agg.iterrows()])
    frame["order"] = frame["intervention"].map({name: k for k, name in enumerate(INTERVENTIONS)})
    frame = frame.sort_values(["dataset", "method", "ipc", "order"])
    table = pd.DataFrame({"dataset": frame["dataset"], "method": frame["method"], "ipc": frame["ipc"],
                          "intervention": frame["intervention"],
                          "stage": [INTERVENTIONS.get(name, ("?",))[0] for name in frame["intervention"]],
                          "EOD (Acc)": [cell_text(e, a) for e, a in zip(frame[metric], frame["acc"])],
                          "paper": [_paper_cell(row) for _, row in frame.iterrows()]})
    table = table.set_index(["dataset", "method", "ipc", "intervention"])
    best = frame.groupby(["dataset", "method", "ipc"])[metric].transform("min") == frame[metric]
    bold = pd.DataFrame({"stage": False, "EOD (Acc)": best.to_numpy(), "paper": False}, index=table.index)
    return table, bold


def _paper_cell(row: pd.Series) -> str:
    """The paper's Table 18 cell for an aggregated row ("" where it reports none)."""
    value = table18_lookup(row["dataset"], row["ipc"])((row["intervention"],), row["method"], row["mode"])
    return paper_text(*value) if value else ""
