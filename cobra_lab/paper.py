"""The COBRA paper's reported numbers: one table of rows (paper_values.yaml, copied from the paper) and one query.

A row holds a table number, the setting the paper reports (dataset, ipc, method, mode, the knob its table
varies) and the values; a setting a row leaves out holds for every value (FULL has no IPC). Adding another
method's numbers means adding rows to the YAML file, not code here."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from numbers import Number
from pathlib import Path
from typing import NamedTuple

import yaml

from .schema import FULL

VALUES_FILE = Path(__file__).with_name("paper_values.yaml")
METRIC_FIELDS = {"eod_max": "eod", "eod_mean": "eod_mean"}  # our metric -> the row field holding the paper's


class Reported(NamedTuple):
    """One cell the paper prints: EOD in the metric asked for, accuracy (NaN where the table prints none), their
    standard deviations where the paper prints them, and a note where the paper disagrees with itself there."""

    eod: float
    acc: float
    eod_std: float | None = None
    acc_std: float | None = None
    note: str | None = None


PaperLookup = Callable[[tuple, str, str], "Reported | None"]


@cache
def _stored() -> dict:
    """The parsed YAML file: ``sources`` (table -> caption) and ``rows``."""
    return yaml.safe_load(VALUES_FILE.read_text(encoding="utf-8"))


def source(table: int) -> str:
    """Where a table's numbers come from (for captions)."""
    return _stored()["sources"][table]


def _same(wanted: object, stored: object) -> bool:
    """Whether a queried value equals a stored one (numbers compared as numbers, so 3 matches 3.0)."""
    if isinstance(wanted, Number) and isinstance(stored, Number) and not isinstance(wanted, bool):
        return math.isclose(float(wanted), float(stored), abs_tol=1e-9)
    return wanted == stored


def rows(table: int, **setting: object) -> list[dict]:
    """The rows of the paper's ``table`` that agree with ``setting``, in printed order: a row agrees on a key it
    holds when the values are equal, on a key it leaves out always; ``None`` asks for the rows that leave it out."""
    found = []
    for row in _stored()["rows"]:
        if row["table"] != table:
            continue
        if all((key not in row) if wanted is None else (key not in row or _same(wanted, row[key]))
               for key, wanted in setting.items()):
            found.append(row)
    return found


def methods(table: int) -> list[str]:
    """The distillation backbones ``table`` reports, in printed order (FULL left out)."""
    return [m for m in dict.fromkeys(row.get("method") for row in rows(table)) if m not in (None, FULL)]


def find(table: int, **setting: object) -> dict | None:
    """The one row of ``table`` for ``setting`` (see ``rows``); None where the paper reports none."""
    found = rows(table, **setting)
    if len(found) > 1:
        raise ValueError(f"Table {table} has {len(found)} rows for {setting}: name more of the setting")
    return found[0] if found else None


def cell(table: int, **setting: object) -> tuple[float, float] | None:
    """The (EOD, Acc) the paper reports for ``setting``; Acc is NaN where the table prints none (Table 4)."""
    row = find(table, **setting)
    return None if row is None else (row["eod"], row.get("acc", float("nan")))


def reported(table: int, metric: str = "eod_max", **setting: object) -> Reported | None:
    """The paper's cell of ``table`` for ``setting`` in ``metric`` (eod_max: the paper's EOD, eod_mean: its EOD_A),
    with its +- and note; None where the paper prints none in that metric (Table 1's EOD_A is Table 9's)."""
    row = find(table, **setting)
    if row is None:
        return None
    field = METRIC_FIELDS[metric]
    source_row = row
    if field not in row:
        elsewhere = _stored()["metric_tables"].get(table, {}).get(metric)
        source_row = find(elsewhere, **setting) if elsewhere else None
        if source_row is None:
            return None
    notes = [text for text in (row.get("note"), source_row.get("note") if source_row is not row else None) if text]
    return Reported(source_row[field], row.get("acc", float("nan")), source_row.get(f"{field}_std"),
                    row.get("acc_std"), "; ".join(notes) or None)


def lookup(table: int, keys: Sequence[str], defaults: dict | None = None, metric: str = "eod_max",
           **fixed: object) -> PaperLookup:
    """``results_table``'s paper column: (row key, method, mode) -> ``reported`` in ``metric``, the row key naming
    ``keys`` (a dotted config name such as ``eval.arch`` matches the paper's ``arch``); ``defaults`` (by key) stand
    for values that are None, a setting left at its default; ``fixed`` adds the rest of our setting (dataset, ipc,
    and the knobs a sweep holds fixed: a row that names one answers only at its value)."""
    defaults = defaults or {}

    def paper_cell(key: tuple, method: str, mode: str) -> Reported | None:
        setting = {name.rsplit(".", 1)[-1]: defaults.get(name) if value is None else value
                   for name, value in zip(keys, key)}
        return reported(table, metric, **{**fixed, **setting, "method": method, "mode": mode})

    return paper_cell
