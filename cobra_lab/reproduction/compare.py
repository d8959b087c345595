"""Ours beside the paper's: each setting a study ran (mean over seeds) with the paper's cell of the same setting,
on the paper's dataset where ours is a stand-in, and the difference."""
from __future__ import annotations

import math
from numbers import Number

import pandas as pd

from .. import paper
from ..sweep import aggregate

VALUE_FIELDS = {"table", "dataset", "eod", "acc", "eod_std", "acc_std", "eod_mean", "eod_mean_std", "note", "mean",
                "worst", "ms", "ms_std", "mb", "row", "sweep"}  # a paper row's fields that are not its setting
SETTING_COLUMNS = ("ipc", "skew", "gap", "semantic_gap", "group_noise", "known_groups", "render")
COLUMNS = ["setting", "dataset_ours", "paper_dataset", "method", "mode", "eod_ours", "eod_ours_std", "eod_paper",
           "eod_paper_std", "eod_diff", "acc_ours", "acc_ours_std", "acc_paper", "acc_paper_std", "acc_diff"]


def paper_dataset(ours: str, table: int, papers: list[str]) -> str | None:
    """The dataset whose cells of ``table`` stand beside ours: ours where the table reports it, else the first of
    the study's paper datasets ``papers`` the table reports (None: the table reports none of them)."""
    reported = {row.get("dataset") for row in paper.rows(table)}
    return next((name for name in [ours, *papers] if name in reported), None)


def _equal(ours: object, papers: object) -> bool:
    """Whether our setting's value is the paper row's (numbers as numbers)."""
    if isinstance(ours, Number) and isinstance(papers, Number) and not isinstance(ours, bool):
        return math.isclose(float(ours), float(papers), abs_tol=1e-9)
    return str(ours) == str(papers)


def _setting(row: pd.Series) -> dict:
    """Our row's setting by the paper's names: config keys lose their section (eval.arch -> arch)."""
    return {str(key).rsplit(".", 1)[-1]: value for key, value in row.items()
            if not (isinstance(value, float) and math.isnan(value)) and value is not None}


def paper_row(table: int, dataset: str, row: pd.Series) -> dict | None:
    """The first row of ``table`` (printed order) on ``dataset`` whose setting agrees with our ``row`` on every
    key both name."""
    ours = _setting(row)
    for candidate in paper.rows(table, dataset=dataset, method=row["method"], mode=row["mode"]):
        keys = [key for key in candidate if key not in VALUE_FIELDS and key in ours]
        if all(_equal(ours[key], candidate[key]) for key in keys):
            return candidate
    return None


def _described(row: pd.Series, varying: list[str]) -> str:
    """The setting columns that vary in the study, as ``key value`` pairs."""
    return ", ".join(f"{str(key).rsplit('.', 1)[-1]} {row[key]}" for key in varying)


def paper_comparison(runs: pd.DataFrame, table: int | None, papers: list[str]) -> pd.DataFrame:
    """One row per setting of ``runs`` (a sweep's rows): our EOD (max) and accuracy with their spread, the paper's
    cell of ``table`` for the same setting (NaN where it prints none) on ``paper_dataset``'s choice, and ours -
    paper."""
    agg = aggregate(runs, keys=("acc", "eod_max"))
    if agg.empty:
        return pd.DataFrame(columns=COLUMNS)
    knobs = [c for c in agg.columns if "." in str(c)]
    varying = [c for c in ["dataset", *SETTING_COLUMNS, *knobs] if c in agg and agg[c].nunique(dropna=True) > 1]
    rows = []
    for _, row in agg.iterrows():
        dataset = paper_dataset(row["dataset"], table, papers) if table is not None else None
        reported = paper_row(table, dataset, row) if dataset is not None else None
        eod, acc = (reported.get("eod", math.nan), reported.get("acc", math.nan)) if reported else (math.nan,) * 2
        rows.append({"setting": _described(row, varying), "dataset_ours": row["dataset"], "paper_dataset": dataset,
                     "method": row["method"], "mode": row["mode"],
                     "eod_ours": row["eod_max"], "eod_ours_std": row["eod_max_std"], "eod_paper": eod,
                     "eod_paper_std": (reported or {}).get("eod_std", math.nan), "eod_diff": row["eod_max"] - eod,
                     "acc_ours": row["acc"], "acc_ours_std": row["acc_std"], "acc_paper": acc,
                     "acc_paper_std": (reported or {}).get("acc_std", math.nan), "acc_diff": row["acc"] - acc})
    return pd.DataFrame(rows, columns=COLUMNS)
