"""The paper's claims about each study, checked on a run's results.

Every claim is written once, as data, in claims.yaml: its words, where the paper makes it, the study (notebook) it
belongs to, and a check over that study's results table (the frame its notebook builds, e.g. ``aggregate``'s
rows). A check is one of a few kinds (``CHECKS``: below, change, steadier, equals, bound) with its arguments.

Each claim gets one verdict:

- ``holds`` / ``fails``: every comparison the claim makes lies beyond the spread in the claimed direction /
  at least one lies beyond the spread against it;
- ``within noise``: none against it, but at least one within the spread;
- ``not measured``: the results cannot answer it (a mode or setting not run, a column absent, one sweep value),
  with the reason.

The rule: a comparison of two numbers decides only when their difference exceeds the spread, the spreads of both
combined as sqrt(s1^2 + s2^2). A number's spread is its ``<column>_std`` (over evaluation nets and seeds, as
``aggregate`` gives it) or else its ``<column>_se`` (the standard error of a mean over test points or classes: kNN
purities, colour spreads). A number with neither (residuals, peak memory: measured once) has spread 0 and is
printed without a ±. An ``equals`` claim (EOD 0 by construction) is exact."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from .io import atomic_write_bytes
from .registry import Registry
from .sweep import AGGREGATED, METRIC_KEYS

CLAIMS_FILE = Path(__file__).with_name("claims.yaml")
VERDICTS = ("holds", "fails", "within noise", "not measured")
COLUMNS = ["claim", "paper", "numbers", "verdict", "why"]
MEASURED = {*METRIC_KEYS, *(f"{key}_std" for key in AGGREGATED), "seeds"}  # not a setting: never a cell's key
SPREADS = ("_std", "_se")  # a column's spread: over evaluation nets and seeds, else a mean's standard error
SHOWN = 6  # comparisons written out in a claim's numbers; the rest are counted
DEFAULT_TABLE = "results"


@dataclass(frozen=True)
class Claim:
    """One claim of the paper about one study: its words, where it is made, and its check with arguments."""

    id: str
    study: str
    words: str
    paper: str
    check: str
    table: str = DEFAULT_TABLE
    arguments: dict = field(default_factory=dict)


class NotMeasured(Exception):
    """The results cannot answer a claim; the message says why."""


@dataclass
class Comparison:
    """One comparison a claim makes: +1 beyond the spread in the claimed direction, -1 against it, 0 within."""

    outcome: int
    text: str


@cache
def registry() -> tuple[Claim, ...]:
    """Every claim of claims.yaml, in file order."""
    entries = yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))
    fixed = {"id", "study", "words", "paper", "check", "table"}
    return tuple(Claim(**{key: value for key, value in entry.items() if key in fixed},
                       arguments={key: value for key, value in entry.items() if key not in fixed})
                 for entry in entries)


def study_claims(study: str) -> list[Claim]:
    """The claims of notebook ``study`` (e.g. "02_skew_gap")."""
    return [claim for claim in registry() if claim.study == study]


# --- reading a results table ---

def outcome(difference: float, spread: float) -> int:
    """+1 when ``difference`` (positive: the claimed direction) exceeds ``spread``, -1 when it is below -spread,
    0 within it."""
    return 1 if difference > spread else -1 if difference < -spread else 0


def _matches(series: pd.Series, wanted: object) -> pd.Series:
    """Which values of ``series`` match ``wanted``: a value, a list of values, or {above: x} / {below: x}."""
    if isinstance(wanted, dict):
        (how, bound), = wanted.items()
        values = series.astype(float)
        return values > bound + 1e-9 if how == "above" else values < bound - 1e-9
    if isinstance(wanted, list):
        return pd.concat([_matches(series, value) for value in wanted], axis=1).any(axis=1)
    if isinstance(wanted, str):
        return series == wanted
    return (pd.to_numeric(series, errors="coerce") - float(wanted)).abs() < 1e-9


def _describe(where: dict) -> str:
    """A row filter in words: "mode fairdd", "gap above 0"."""
    parts = []
    for column, wanted in where.items():
        if isinstance(wanted, dict):
            (how, bound), = wanted.items()
            parts.append(f"{column} {how} {bound:g}")
        else:
            parts.append(f"{column} {' or '.join(map(str, wanted)) if isinstance(wanted, list) else wanted}")
    return ", ".join(parts) or "every row"


def select(frame: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows of ``frame`` matching every entry of ``where``; NotMeasured when none does."""
    keep = pd.Series(True, index=frame.index)
    for column, wanted in where.items():
        _require_column(frame, column)
        keep &= _matches(frame[column], wanted)
    if not keep.any():
        raise NotMeasured(f"no run with {_describe(where)} here")
    return frame[keep]


def _require_column(frame: pd.DataFrame, column: str) -> None:
    """NotMeasured when the results have no ``column``."""
    if column not in frame.columns:
        raise NotMeasured(f"the results have no column {column!r}")


def spread_column(columns: pd.Index, column: str) -> str | None:
    """The column holding ``column``'s spread (``SPREADS``), None where there is none."""
    return next((column + suffix for suffix in SPREADS if column + suffix in columns), None)


def value(row: pd.Series, column: str) -> tuple[float, float]:
    """A row's ``column`` and its spread (``spread_column``; 0 where there is none); NotMeasured when NaN."""
    if column not in row.index:
        raise NotMeasured(f"the results have no column {column!r}")
    number = float(row[column])
    if math.isnan(number):
        raise NotMeasured(f"{column} was not measured")
    spread = spread_column(row.index, column)
    return number, 0.0 if spread is None or pd.isna(row[spread]) else float(row[spread])


def shown(number: float, spread: float, has_spread: bool) -> str:
    """A number with its spread as the numbers column prints it."""
    return f"{number:.2f} ± {spread:.2f}" if has_spread else f"{number:.3g}"


def cells(frame: pd.DataFrame, per: list[str] | None, drop: set[str]) -> list[tuple[str, pd.DataFrame]]:
    """The settings a claim compares within, each with its label: rows sharing the values of ``per`` (None: every
    column that is a setting, not a measurement, but those in ``drop``); the label names the varying ones."""
    keys = [c for c in frame.columns if c not in MEASURED and c not in drop] if per is None else list(per)
    for column in keys:
        _require_column(frame, column)
    if not keys:
        return [("", frame)]
    varying = [c for c in keys if frame[c].nunique(dropna=False) > 1]
    found = []
    for identity, rows in frame.groupby(keys, dropna=False, sort=False):
        named = dict(zip(keys, identity if isinstance(identity, tuple) else (identity,)))
        found.append((", ".join(f"{c} {_plain(named[c])}" for c in varying), rows))
    return found


def _plain(setting: object) -> str:
    """A setting's value as a label prints it: numbers without trailing zeros, "none" where it has none."""
    if isinstance(setting, float):
        return "none" if math.isnan(setting) else f"{setting:g}"
    return "none" if setting is None else str(setting)


def _at(label: str, text: str) -> str:
    """``text`` after its setting's label (where there is one)."""
    return f"{label}: {text}" if label else text


# --- the checks ---

CHECKS: Registry[list[Comparison]] = Registry("claim check")


def _name(row: pd.Series, where: dict, column: str, label: str | None) -> str:
    """What a compared row is: its values of the side's filter columns (and of ``label``), else the column."""
    parts = [str(row[c]) if isinstance(w, (str, list)) else f"{c} {row[c]:g}" for c, w in where.items()]
    if label and pd.notna(row[label]):
        parts.append(str(row[label]))
    return " ".join(parts) or column


@CHECKS.register("below")
def below(frame: pd.DataFrame, lower: dict, higher: dict, column: str = "eod_max", per: list[str] | None = None,
          requires: list[dict] = (), label: str | None = None) -> list[Comparison]:
    """In every setting, each ``lower`` row's value is below each ``higher`` row's (each side: {where, column});
    ``requires``: row filters that must each match some run; ``label``: a column naming the ``lower`` rows (the
    variants compared with one reference)."""
    for where in requires:
        select(frame, where)
    low_where, low_column = lower.get("where", {}), lower.get("column", column)
    high_where, high_column = higher.get("where", {}), higher.get("column", column)
    lows, highs = select(frame, low_where), select(frame, high_where)
    has = spread_column(frame.columns, low_column) is not None
    found = []
    compared = frame.loc[lows.index.union(highs.index)]  # other rows (FULL, say) are no setting of the claim
    for name, rows in cells(compared, per, {*low_where, *high_where}):
        for _, low in lows.loc[lows.index.intersection(rows.index)].iterrows():
            for _, high in highs.loc[highs.index.intersection(rows.index)].iterrows():
                (a, sa), (b, sb) = value(low, low_column), value(high, high_column)
                found.append(Comparison(outcome(b - a, math.hypot(sa, sb)), _at(name, (
                    f"{_name(low, low_where, low_column, label)} {shown(a, sa, has)} vs "
                    f"{_name(high, high_where, high_column, None)} {shown(b, sb, has)}"))))
    if not found:
        raise NotMeasured(f"no setting has both {_describe(low_where)} and {_describe(high_where)}")
    return found


def _end(values: list[float], which: object, start: float | None = None) -> float:
    """One end of a sweep: "min", "max", "next" (the smallest value above ``start``) or a value run."""
    if which == "min":
        return values[0]
    if which == "max":
        return values[-1]
    if which == "next":
        later = [v for v in values if v > start + 1e-9]
        if not later:
            raise NotMeasured(f"no value above {start:g} run")
        return later[0]
    if not any(abs(v - float(which)) < 1e-9 for v in values):
        raise NotMeasured(f"{which} not run")
    return float(which)


def _ends(rows: pd.DataFrame, knob: str, start: object, stop: object) -> tuple[pd.Series, pd.Series]:
    """The rows at the two ends of a sweep over ``knob`` (NotMeasured with a single value)."""
    values = sorted(set(rows[knob].astype(float)))
    if len(values) < 2:
        raise NotMeasured(f"one {knob} value run ({values[0]:g}); the claim needs a sweep")
    first = _end(values, start)
    last = _end(values, stop, first)
    at = rows[knob].astype(float)
    return rows[(at - first).abs() < 1e-9].iloc[0], rows[(at - last).abs() < 1e-9].iloc[0]


@CHECKS.register("change")
def change(frame: pd.DataFrame, knob: str, direction: str, column: str = "eod_max", start: object = "min",
           stop: object = "max", per: list[str] | None = None) -> list[Comparison]:
    """In every setting, ``column`` ``direction`` (rises | falls) from ``knob`` = ``start`` to ``stop``."""
    _require_column(frame, knob)
    sign = {"rises": 1, "falls": -1}[direction]
    has = spread_column(frame.columns, column) is not None
    found = []
    for name, cell in cells(frame, per, {knob}):
        first, last = _ends(cell, knob, start, stop)
        (a, sa), (b, sb) = value(first, column), value(last, column)
        found.append(Comparison(outcome(sign * (b - a), math.hypot(sa, sb)),
                                _at(name, f"{column} {shown(a, sa, has)} at {knob} {first[knob]:g} → "
                                          f"{shown(b, sb, has)} at {knob} {last[knob]:g}")))
    return found


@CHECKS.register("steadier")
def steadier(frame: pd.DataFrame, steady: dict, moving: dict, knob: str, column: str = "eod_max",
             per: list[str] | None = None, ignore: list[str] = ()) -> list[Comparison]:
    """In every setting, ``moving`` rows' ``column`` rises along ``knob`` by more than ``steady`` rows' moves
    (either way); ``ignore``: setting columns the two sides may differ in (FULL has no IPC)."""
    stills, moves = select(frame, steady), select(frame, moving)
    found = []
    for name, cell in cells(frame, per, {*steady, *moving, knob, *ignore}):
        still, move = (rows.loc[rows.index.intersection(cell.index)] for rows in (stills, moves))
        if still.empty or move.empty:
            continue
        (s0, s1), (m0, m1) = _ends(still, knob, "min", "max"), _ends(move, knob, "min", "max")
        (a, sa), (b, sb), (c, sc), (d, sd) = (value(row, column) for row in (s0, s1, m0, m1))
        spread = math.sqrt(sa ** 2 + sb ** 2 + sc ** 2 + sd ** 2)
        found.append(Comparison(outcome((d - c) - abs(b - a), spread),
                                _at(name, f"{_describe(steady)} {a:.2f} → {b:.2f}, {_describe(moving)} {c:.2f} → "
                                          f"{d:.2f} ({column}, {knob} {s0[knob]:g} → {s1[knob]:g}; spread "
                                          f"{spread:.2f})")))
    if not found:
        raise NotMeasured(f"no setting has both {_describe(steady)} and {_describe(moving)}")
    return found


@CHECKS.register("equals")
def equals(frame: pd.DataFrame, column: str, target: float, needs: dict | None = None,
           per: list[str] | None = None) -> list[Comparison]:
    """Every row's ``column`` is exactly ``target`` (to 1e-9); ``needs``: setting values the rows must have for
    the claim to apply (e.g. render shared)."""
    for setting, wanted in (needs or {}).items():
        _require_column(frame, setting)
        if not _matches(frame[setting], wanted).all():
            ran = ", ".join(map(str, dict.fromkeys(frame[setting])))
            raise NotMeasured(f"the claim needs {setting} {wanted}; this run has {setting} {ran}")
    found = []
    for name, cell in cells(frame, per, set()):
        for _, row in cell.iterrows():
            number, _ = value(row, column)
            found.append(Comparison(1 if abs(number - target) <= 1e-9 else -1,
                                    _at(name, f"{column} {number:.3g}")))
    return found


@CHECKS.register("bound")
def bound(frame: pd.DataFrame, column: str, at_most: float, per: list[str] | None = None) -> list[Comparison]:
    """Every row's ``column`` is at most ``at_most`` (rows where it was not measured are left out)."""
    _require_column(frame, column)
    rows = frame[frame[column].notna()]
    if rows.empty:
        raise NotMeasured(f"{column} was not measured")
    has = spread_column(frame.columns, column) is not None
    found = []
    for name, cell in cells(rows, per, set()):
        for _, row in cell.iterrows():
            number, spread = value(row, column)
            found.append(Comparison(outcome(at_most - number, spread),
                                    _at(name, f"{column} {shown(number, spread, has)}")))
    return found


# --- verdicts ---

def verdict(comparisons: list[Comparison]) -> tuple[str, str]:
    """A claim's verdict from its comparisons, and why (how many lie beyond the spread each way)."""
    against = sum(c.outcome < 0 for c in comparisons)
    within = sum(c.outcome == 0 for c in comparisons)
    total = len(comparisons)
    why = (f"{total} comparison{'s' if total > 1 else ''}: {total - against - within} as claimed, {against} "
           f"against it, {within} within the spread")
    return ("fails" if against else "within noise" if within else "holds"), why


def numbers(comparisons: list[Comparison]) -> str:
    """The comparisons' numbers, the first ``SHOWN`` written out."""
    text = "; ".join(c.text for c in comparisons[:SHOWN])
    return text + (f"; and {len(comparisons) - SHOWN} more" if len(comparisons) > SHOWN else "")


def evaluate(claim: Claim, tables: dict[str, pd.DataFrame | None]) -> dict:
    """One claim checked on a study's tables: a row of the claims table."""
    row = {"claim": claim.words, "paper": claim.paper}
    frame = tables.get(claim.table)
    try:
        if frame is None or frame.empty:
            raise NotMeasured("no finished runs")
        check: Callable[..., list[Comparison]] = CHECKS.get(claim.check)
        arguments = dict(claim.arguments)
        comparisons = check(select(frame, arguments.pop("where", {})), **arguments)
        row["verdict"], row["why"] = verdict(comparisons)
        row["numbers"] = numbers(comparisons)
    except NotMeasured as reason:
        row.update(verdict="not measured", why=str(reason), numbers="")
    return row


def check_claims(study: str, results: pd.DataFrame | dict[str, pd.DataFrame | None] | None) -> pd.DataFrame:
    """Every claim of ``study`` checked on its results (one table, or several by name): the claims table."""
    tables = results if isinstance(results, dict) else {DEFAULT_TABLE: results}
    return pd.DataFrame([evaluate(claim, tables) for claim in study_claims(study)], columns=COLUMNS)


def claims_sentence(table: pd.DataFrame) -> str:
    """One sentence reading a claims table: how many claims hold, fail, are within noise, were not measured."""
    counts = table["verdict"].value_counts()
    parts = [f"{counts[v]} {'holds' if v == 'holds' and counts[v] == 1 else 'hold' if v == 'holds' else v}"
             for v in VERDICTS if v in counts]
    return (f"Of the paper's {len(table)} claim{'s' if len(table) != 1 else ''} about this study, checked on this "
            f"run: " + ", ".join(parts) + ".")


def show_claims(study: str, results: pd.DataFrame | dict[str, pd.DataFrame | None] | None,
                out: str | Path) -> pd.DataFrame:
    """Check ``study``'s claims on its results, write them to ``out``/claims.csv (atomically), display the table
    and print the sentence reading it; returns the table."""
    from IPython.display import display  # deferred: only notebooks display

    table = check_claims(study, results)
    atomic_write_bytes(Path(out) / "claims.csv", table.to_csv(index=False).encode())
    display(table.style.hide(axis="index").set_caption(
        "The paper's claims checked on this run (a comparison decides only beyond the spread over evaluation nets "
        "and seeds)"))
    print(claims_sentence(table))
    return table
