"""The COBRA paper's reported numbers (paper_values.yaml, copied from the paper), looked up by our setting."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import yaml

VALUES_FILE = Path(__file__).with_name("paper_values.yaml")


@cache
def paper_values() -> dict:
    """Every stored table of the paper: table1, 2, 3, 4, 5, 10, 13, 15, 16, 18, 19 (4: EOD only; 5: residuals;
    13: step times)."""
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


def _pair(cell: list | None) -> tuple[float, float] | None:
    """A stored [eod, acc] cell as a tuple; None for a missing one."""
    return tuple(cell) if cell else None


def table3(dataset: str, arch: str, mode: str) -> tuple[float, float] | None:
    """Table 3's [EOD, Acc] (DM, IPC 50) for an evaluation net (or 'mean', 'std') and mode; None if not reported."""
    return _pair(paper_values()["table3"]["cells"].get(dataset, {}).get(arch, {}).get(mode))


def table3_lookup(dataset: str, ipc: int):
    """Table 3 (DM, IPC 50) for row keys (eval.arch,), where our IPC is the paper's; None: the ConvNet."""
    values = paper_values()["table3"]

    def lookup(key: tuple, method: str, mode: str) -> tuple[float, float] | None:
        if ipc != values["ipc"] or method != values["method"]:
            return None
        return table3(dataset, key[0] or "convnet", mode)  # no eval.arch: the distillation net, a ConvNet

    return lookup


# our distill.discrepancy names -> Table 4's columns ("cobra": the paper's default, the squared norm)
TABLE4_COLUMNS = {"sq": "cobra", "l1": "l1", "l2": "l2", "linf": "linf", "cosine": "cosine", "huber": "huber"}


def table4(dataset: str, discrepancy: str) -> float | None:
    """Table 4's EOD (DM, IPC 10; no accuracy printed) for one of our discrepancy names; None if not reported."""
    column = TABLE4_COLUMNS.get(discrepancy)
    return paper_values()["table4"]["cells"].get(dataset, {}).get(column) if column else None


def table4_lookup(dataset: str, ipc: int):
    """Table 4 (DM, IPC 10) for row keys (distill.discrepancy,), COBRA only; acc is NaN (the paper prints none)."""
    values = paper_values()["table4"]

    def lookup(key: tuple, method: str, mode: str) -> tuple[float, float] | None:
        if ipc != values["ipc"] or method != values["method"] or mode != "cobra":
            return None
        eod = table4(dataset, key[0])
        return None if eod is None else (eod, float("nan"))

    return lookup


def table5(objective: str, dataset: str) -> list[dict[str, tuple[float, float]]]:
    """Table 5's rows (printed order, IPC not printed) for dc/dm and a dataset: {column: (mean, worst)}; [] if none."""
    rows = paper_values()["table5"]["cells"].get(objective, {}).get(dataset, [])
    return [{column: tuple(cell) for column, cell in row.items()} for row in rows]


def table5_frame(methods: list[str] | None = None) -> pd.DataFrame:
    """Table 5 as printed, for display: objective, dataset, row, then "mean (worst)" per column; only ``methods``."""
    cells = paper_values()["table5"]["cells"]
    rows = [{"objective": objective, "dataset": dataset, "row": k + 1,
             **{column: f"{mean:.3f} ({worst:.3f})" for column, (mean, worst) in row.items()}}
            for objective, datasets in cells.items() if methods is None or objective in methods
            for dataset in datasets for k, row in enumerate(table5(objective, dataset))]
    return pd.DataFrame(rows)


def table10(dataset: str, ipc: int, method: str, mode: str) -> tuple[float, float] | None:
    """Table 10's [max EOD, Acc] for a dataset, low IPC (1, 3, 5), method and mode; None if not reported."""
    return _pair(paper_values()["table10"]["cells"].get(dataset, {}).get(ipc, {}).get(method, {}).get(mode))


def table10_lookup(key: tuple, method: str, mode: str) -> tuple[float, float] | None:
    """Table 10 for a row key (dataset, ipc)."""
    dataset, ipc = key
    return None if ipc is None else table10(dataset, int(ipc), method, mode)


def table18(dataset: str, method: str, intervention: str) -> tuple[float, float] | None:
    """Table 18's [EOD, Acc] (IPC 10) for an intervention (vanilla, RF, DF, MF, COBRA); None if not reported."""
    row = paper_values()["table18"]["cells"].get(dataset, {}).get(method, {})
    return _pair(row.get(intervention.lower()))


def table18_lookup(dataset: str, ipc: int):
    """Table 18 (IPC 10) for row keys (intervention,), where our IPC is the paper's; the mode is the label's."""
    values = paper_values()["table18"]
    return lambda key, method, mode: table18(dataset, method, key[0]) if ipc == values["ipc"] else None


def table13(method: str, mode: str, groups: int) -> tuple[float, float] | None:
    """Table 13's per-step milliseconds [mean, std] on an H100 for DM or DC; vanilla at any G (the paper's one
    vanilla row), COBRA at G = 2, 4, 6, 8, 10; None where not reported (FairDD, other G)."""
    cells = paper_values()["table13"]["cells"].get(method, {})
    cell = cells.get("vanilla") if mode == "vanilla" else cells.get(groups) if mode == "cobra" else None
    return tuple(cell["ms"]) if cell else None


def table17() -> dict[tuple[str, str], tuple[float, float]]:
    """Table 17's [EOD, Acc] (MTT, IPC 10) by (dataset, mode): vanilla and cobra on bffhq and cifar10s."""
    cells = paper_values()["table17"]["cells"]
    return {(dataset, mode): tuple(cell) for dataset, modes in cells.items() for mode, cell in modes.items()}
