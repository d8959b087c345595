"""The COBRA paper's reported numbers (paper_values.yaml, copied from the paper), looked up by our setting."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

VALUES_FILE = Path(__file__).with_name("paper_values.yaml")


@cache
def paper_values() -> dict:
    """Every stored table of the paper: table1, table2, table15, table16, table19."""
    return yaml.safe_load(VALUES_FILE.read_text())


def source(table: str) -> str:
    """Where a table's numbers come from (for captions)."""
    return paper_values()[table]["source"]


def table1(dataset: str, ipc: int | None, method: str, mode: str) -> tuple[float, float] | None:
    """Table 1's [EOD, Acc] for a dataset, IPC, method and mode (FULL: method 'full'); None if not reported."""
    table = paper_values()["table1"]
    if method == "full":
        value = table["full"].get(dataset)
    else:
        value = table["cells"].get(dataset, {}).get(ipc, {}).get(method, {}).get(mode)
    return tuple(value) if value else None


def table2(knob: str, value: float, method: str, mode: str) -> tuple[float, float] | None:
    """Table 2's [EOD, Acc] (CIFAR10-S, IPC 50) at SKEW or GAP ``value``; None if not reported."""
    rows = paper_values()["table2"][knob]
    row = next((cells for key, cells in rows.items() if abs(float(key) - float(value)) < 1e-9), None)
    if row is None:
        return None
    cell = row.get("full") if method == "full" else row.get(method, {}).get(mode)
    return tuple(cell) if cell else None


def table1_lookup(key: tuple, method: str, mode: str) -> tuple[float, float] | None:
    """Table 1 for a row key (dataset, ipc)."""
    dataset, ipc = key
    return table1(dataset, None if ipc is None else int(ipc), method, mode)


def table2_lookup(knob: str, dataset: str, ipc: int):
    """Table 2 for row keys (knob value,), where our dataset and IPC are the paper's (CIFAR10-S, 50)."""
    matches = dataset == paper_values()["table2"]["dataset"] and ipc == paper_values()["table2"]["ipc"]
    return lambda key, method, mode: table2(knob, key[0], method, mode) if matches else None


def label_table_lookup(table: str, ipc: int, clean: float):
    """Table 15 (group noise, clean = 0) or 16 (known fraction, clean = 1) for row keys (dataset, value)."""
    values = paper_values()[table]

    def lookup(key: tuple, row_method: str, mode: str) -> tuple[float, float] | None:
        dataset, value = key
        cells = values["cells"].get(dataset)
        if not cells or row_method != values["method"] or ipc != values["ipc"]:
            return None
        is_clean = abs(float(value) - clean) < 1e-9
        if mode == "vanilla":
            cell = cells["vanilla"] if is_clean else None
        elif mode == "cobra":
            cell = cells["cobra"] if is_clean else next(
                (v for k, v in cells.items() if not isinstance(k, str) and abs(float(k) - float(value)) < 1e-9), None)
        else:
            cell = None
        return tuple(cell) if cell else None

    return lookup


def table19_lookup(dataset: str, ipc: int):
    """Table 19 (CIFAR10-S, IPC 10, DM) for row keys (semantic gap,), where our setting is the paper's."""
    values = paper_values()["table19"]
    matches = dataset == values["dataset"] and ipc == values["ipc"]

    def lookup(key: tuple, method: str, mode: str) -> tuple[float, float] | None:
        row = values["cells"].get(int(key[0])) if matches and float(key[0]).is_integer() else None
        if row is None or method not in (values["method"], "full"):
            return None
        cell = row.get("full" if method == "full" else mode)
        return tuple(cell) if cell else None

    return lookup
