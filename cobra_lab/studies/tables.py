"""Paper-style result tables: "EOD (Acc)" cells per (method, mode), the best mode in bold (every one of them when
they tie), the paper beside."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from ..config import FULL
from ..io import atomic_write_bytes
from ..methods.selection import selection_methods
from ..paper import PaperLookup

METHOD_ORDER = ("dc", "dm", "cafe", "idc", *selection_methods(), FULL)  # the paper's Table 1 order, baselines last
MODE_ORDER = ("vanilla", "fairdd", "cobra", FULL)


def variant_label(method: str, mode: str) -> str:
    """How a table, sentence or legend names a (method, mode): "DM cobra", "FULL", "RANDOM" (no mode)."""
    return "FULL" if method == FULL else f"{method.upper()} {mode}".rstrip()


def cell_text(eod: float, acc: float) -> str:
    """One cell as the paper prints it: EOD with accuracy in parentheses."""
    return f"{eod:.2f} ({acc:.1f})"


def paper_text(eod: float, acc: float | None, eod_std: float | None = None, acc_std: float | None = None,
               note: str | None = None) -> str:
    """A paper value beside ours: EOD with its accuracy as printed (EOD alone where the paper gives no accuracy),
    each with its +- where the paper prints one, and a dagger where the paper prints the cell otherwise elsewhere."""
    text = f"{eod:.2f}" + ("" if eod_std is None else f" ± {eod_std:.2f}")
    if acc is not None and not math.isnan(acc):
        text += f" ({acc:g}" + ("" if acc_std is None else f" ± {acc_std:.2f}") + ")"
    return text + (NOTE_MARK if note else "")


NOTE_MARK = " †"


def paper_notes(keys: Sequence[tuple], paper: PaperLookup, columns: Sequence[tuple[str, str]]) -> list[str]:
    """The notes of the paper's cells at ``keys`` x ``columns`` (method, mode): where the paper prints the cell
    otherwise in another table, one line each, for a caption."""
    notes = []
    for key in keys:
        for method, mode in columns:
            reported = paper(key, method, mode)
            if reported is not None and getattr(reported, "note", None):
                setting = ", ".join(str(value) for value in key)
                notes.append(f"†{method.upper()} {mode} at {setting}: {reported.note}")
    return notes


def lowest(values: dict[str, float]) -> list[str]:
    """The keys whose value, at the two decimals a table prints, is the smallest (more than one: a tie)."""
    shown = {key: round(float(value), 2) for key, value in values.items()}
    best = min(shown.values())
    return [key for key, value in shown.items() if value == best]


def _rank(value: str, order: Sequence[str]) -> int:
    """``value``'s place in ``order``, after every known one when it is unknown."""
    return order.index(value) if value in order else len(order)


def _order(values: Sequence[str], order: Sequence[str]) -> list[str]:
    """``values`` sorted by their place in ``order`` (unknown ones last, alphabetically)."""
    return sorted(set(values), key=lambda v: (_rank(v, order), v))


def _key(row: pd.Series, rows: Sequence[str]) -> tuple:
    """The row key of an aggregated result: a plain tuple, None where a value is missing (FULL has no ipc)."""
    return tuple(None if pd.isna(row[k]) else (int(row[k]) if k == "ipc" else row[k]) for k in rows)


def results_table(agg: pd.DataFrame, rows: Sequence[str], paper: PaperLookup | None = None,
                  metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A table of "EOD (Acc)" strings: one row per value of ``rows``, one column per (method, mode) and FULL.

    EOD is ``metric``: ``eod_max`` is the paper's definition (Eq. 3: the sup over classes and group pairs).

    FULL results fill every row that differs only by ``ipc``. With ``paper`` (key, method, mode) -> (eod, acc)
    a second column "paper" stands beside each of ours (EOD alone where acc is NaN). Also returns a same-shaped
    bool frame marking, per row and method, the mode with the lowest EOD (ours), every tied mode when they tie.
    """
    columns = [(method, mode) for method in _order(agg["method"], METHOD_ORDER)
               for mode in _order(agg.loc[agg["method"] == method, "mode"], MODE_ORDER)]
    distilled = agg[agg["method"] != FULL]
    keys = list(dict.fromkeys(_key(row, rows) for _, row in distilled.iterrows())) or \
        list(dict.fromkeys(_key(row, rows) for _, row in agg.iterrows()))
    values: dict[tuple, dict[tuple, tuple[float, float]]] = {key: {} for key in keys}
    for _, row in agg.iterrows():
        key = _key(row, rows)
        for target in keys:
            if target == key or (row["method"] == FULL and _same_but_ipc(target, key, rows)):
                values[target][(row["method"], row["mode"])] = (row[metric], row["acc"])
    sources = ("ours", "paper") if paper else ("ours",)
    index = pd.MultiIndex.from_tuples(keys, names=list(rows))
    header = pd.MultiIndex.from_tuples([(m, "" if m == FULL else mode, s) for m, mode in columns for s in sources],
                                       names=["method", "mode", "source"])
    table = pd.DataFrame("", index=index, columns=header)
    bold = pd.DataFrame(False, index=index, columns=header)
    for key in keys:
        for method, mode in columns:
            column = (method, "" if method == FULL else mode)
            if (method, mode) in values[key]:
                table.loc[key, (*column, "ours")] = cell_text(*values[key][(method, mode)])
            if paper:
                reported = paper(key, method, mode)
                table.loc[key, (*column, "paper")] = paper_text(*reported) if reported else ""
        for method in {m for m, _ in columns if m != FULL}:
            eods = {mode: values[key][(m, mode)][0] for m, mode in columns if m == method and (m, mode) in values[key]}
            if len(eods) > 1:
                for best in lowest(eods):
                    bold.loc[key, (method, best, "ours")] = True
    if paper:
        table.attrs["notes"] = paper_notes(keys, paper, columns)
    return table, bold


def paper_only_table(keys: pd.Index, paper: PaperLookup, methods: Sequence[str], modes: Sequence[str],
                     ran: Sequence[str] = ()) -> pd.DataFrame:
    """The paper's "EOD (Acc)" alone at a results table's rows ``keys``, for the ``methods`` not in ``ran`` (those
    already have the paper beside ours): one column per (method, mode) the paper reports at some row, "" at the
    others; no columns when it reports none of them there."""
    cells = {}
    for method in (m for m in methods if m not in ran):
        for mode in modes:
            reported = [paper(key, method, mode) for key in keys]
            if any(reported):
                cells[(method, mode)] = [paper_text(*value) if value else "" for value in reported]
    table = pd.DataFrame(cells, index=keys)
    if cells:
        table.columns = pd.MultiIndex.from_tuples(list(cells), names=["method", "mode"])
    table.attrs["notes"] = paper_notes(keys, paper, list(cells))
    return table


DIFFERENCE_COLUMNS = ["eod_ours", "acc_ours", "eod_paper", "acc_paper", "eod_diff", "acc_diff"]


def paper_difference(agg: pd.DataFrame, rows: Sequence[str], paper: PaperLookup) -> pd.DataFrame:
    """Ours beside the paper's at every (row key, method, mode) where we have a result and the paper a number:
    EOD is ``eod_max`` (the paper's definition), ``*_diff`` is ours - paper (accuracy NaN where the paper prints
    none), in the tables' method and mode order."""
    found = []
    for _, row in agg.iterrows():
        key = _key(row, rows)
        reported = paper(key, row["method"], row["mode"])
        if reported is None:
            continue
        eod, acc = float(row["eod_max"]), float(row["acc"])
        found.append((*key, row["method"], row["mode"], eod, acc, reported[0], reported[1],
                      round(eod - reported[0], 4), round(acc - reported[1], 4)))  # no float noise in the CSV
    found.sort(key=lambda cell: (_rank(cell[len(rows)], METHOD_ORDER), _rank(cell[len(rows) + 1], MODE_ORDER)))
    table = pd.DataFrame(found, columns=[*rows, "method", "mode", *DIFFERENCE_COLUMNS])
    if "ipc" in rows:
        table["ipc"] = table["ipc"].astype("Int64")  # whole numbers, <NA> for FULL
    return table


def difference_sentence(difference: pd.DataFrame) -> str:
    """One sentence reading ``paper_difference``: how many cells, the mean and range of ours - paper for EOD and
    accuracy, and the cell farthest from the paper in EOD."""
    if difference.empty:
        return "The paper reports none of the settings run here."
    eod, acc = difference["eod_diff"], difference["acc_diff"].dropna()
    far = difference.loc[eod.abs().idxmax()]
    settings = ", ".join(str(far[c]) for c in difference.columns[:list(difference.columns).index("eod_ours")])
    sentence = (f"Over {len(difference)} settings the paper reports, ours - paper: EOD (max) {eod.mean():+.1f} on "
                f"average (from {eod.min():+.1f} to {eod.max():+.1f})")
    if len(acc):
        sentence += f", accuracy {acc.mean():+.1f} points (from {acc.min():+.1f} to {acc.max():+.1f})"
    return sentence + (f"; the farthest from the paper in EOD: {settings}, {far['eod_ours']:.1f} against "
                       f"{far['eod_paper']:.1f}.")


def _same_but_ipc(target: tuple, key: tuple, rows: Sequence[str]) -> bool:
    """Whether two row keys agree on every column but ``ipc`` (a FULL run has none)."""
    return all(a == b for a, b, name in zip(target, key, rows) if name != "ipc")


def styled(table: pd.DataFrame, bold: pd.DataFrame | None = None, caption: str = "") -> Styler:
    """The table for display, the marked cells in bold, the notes on the paper's cells (†) under the caption."""
    style = table.style
    if bold is not None:
        style = style.apply(lambda _: bold.map(lambda b: "font-weight: bold" if b else ""), axis=None)
    caption = "<br>".join([caption, *table.attrs.get("notes", [])]).removeprefix("<br>")
    return style.set_caption(caption) if caption else style


def summary_sentence(agg: pd.DataFrame, metric: str = "eod_max") -> str:
    """One sentence reading a results table: each variant's mean EOD and accuracy over the settings shown, and
    how often each mode had the lowest EOD of its method, ties counted as ties ("tie vanilla = cobra")."""
    if agg.empty:
        return "No finished runs to read."
    distilled = agg[agg["method"] != FULL]
    parts = []
    for (method, mode), group in distilled.groupby(["method", "mode"], sort=False):
        parts.append(f"{variant_label(method, mode)} {group[metric].mean():.1f} ({group['acc'].mean():.1f} %)")
    full = agg[agg["method"] == FULL]
    if len(full):
        parts.append(f"FULL {full[metric].mean():.1f} ({full['acc'].mean():.1f} %)")
    settings = [column for column in distilled.columns if column not in ("mode",) and not column.endswith("_std")
                and column not in ("acc", "eod_max", "eod_mean", "seeds")]
    wins: dict[str, int] = {}
    contests = 0
    for _, group in distilled.groupby(settings, dropna=False, sort=False):
        if len(group) > 1:
            contests += 1
            best = lowest(dict(zip(group["mode"], group[metric])))
            name = best[0] if len(best) == 1 else "tie " + " = ".join(best)
            wins[name] = wins.get(name, 0) + 1
    sentence = f"Mean {METRIC_NAMES.get(metric, metric)} (accuracy) over the settings: " + "; ".join(parts) + "."
    if contests:
        sentence += " Lowest EOD per setting: " + ", ".join(f"{mode} {count}/{contests}" for mode, count in
                                                           sorted(wins.items(), key=lambda kv: -kv[1])) + "."
    return sentence


METRIC_NAMES = {"eod_max": "EOD (max over classes)", "eod_mean": "EOD (mean over classes)"}


def select(agg: pd.DataFrame, **fixed: float | str) -> pd.DataFrame:
    """The rows of ``agg`` whose columns equal the given values (numbers compared with a tolerance)."""
    keep = pd.Series(True, index=agg.index)
    for column, value in fixed.items():
        if isinstance(value, str):
            keep &= agg[column] == value
        else:
            keep &= (agg[column].astype(float) - float(value)).abs() < 1e-9
    return agg[keep]


def save_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` (index included when it is named) to ``path`` atomically."""
    keep_index = any(name is not None for name in table.index.names)
    return atomic_write_bytes(Path(path), table.to_csv(index=keep_index).encode())


def failures(results: pd.DataFrame) -> pd.DataFrame:
    """The failed rows of a grid's results (``run_grid``): which run, and the error that stopped it."""
    failed = results[results["status"] == "failed"]
    return pd.DataFrame({"run": failed["run_id"], "error": failed["error"]}).reset_index(drop=True)


def show_failures(results: pd.DataFrame) -> pd.DataFrame:
    """Display the failed runs of a grid as a table (nothing when every run finished); returns the finished rows."""
    failed = failures(results)
    if len(failed):
        from IPython.display import display  # deferred: only notebooks display

        caption = f"{len(failed)} of {len(results)} runs failed (the tables and figures show the others)"
        display(failed.style.hide(axis="index").set_caption(caption))
    return results[results["status"] == "done"]
