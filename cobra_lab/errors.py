"""User-facing errors and warnings: one line, no traceback (a bad value exits with code 2, a store the disk
refuses to write exits with code 1)."""
from __future__ import annotations

import math
import sys
from collections.abc import Iterable

from tqdm.auto import tqdm


class UserError(ValueError):
    """A bad value from the user; the CLI prints its message on one line and exits 2."""


class StoreWriteFailed(Exception):
    """The disk refused a write to the store (full, read-only, ...): one line naming the file, the reason, what
    to do and what was kept; the CLI prints it and exits 1. A sweep stopped by it carries its ``rows``."""

    def __init__(self, message: str, rows: object = None) -> None:
        super().__init__(message)
        self.rows = rows


def warn(message: str) -> None:
    """One ``cobra-lab: warning:`` line on stderr, written above any progress bar."""
    tqdm.write(f"cobra-lab: warning: {message}", file=sys.stderr)


def _finite(name: str, value: object, allowed: str) -> float:
    """``value`` as a finite float (not a bool), else a UserError saying what is ``allowed``."""
    if isinstance(value, (bool, str)):  # a typed config: "10" or true is not a number
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"{name} must be {allowed}, got {value!r}") from None
    if not math.isfinite(number):
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    return number


def check_range(name: str, value: object, low: float, high: float, below_high: bool = False) -> float:
    """Return ``value`` as a float if it is finite and ``low <= value <= high`` (``< high`` with ``below_high``),
    else raise a one-line UserError."""
    interval = f"[{low:g}, {high:g}{')' if below_high else ']'}"
    number = _finite(name, value, f"a number in {interval}")
    if not low <= number <= high or (below_high and number == high):
        raise UserError(f"{name} must be in {interval}, got {value!r}")
    return number


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise a one-line UserError."""
    number = _finite(name, value, "a positive number")
    if number <= 0:
        raise UserError(f"{name} must be a positive number, got {value!r}")
    return number


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in [low, high], else raise UserError."""
    allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
    number = _finite(name, value, allowed)
    if number != int(number) or number < low or (high is not None and number > high):
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    return int(number)


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is true or false, else raise UserError."""
    if not isinstance(value, bool):
        raise UserError(f"{name} must be true or false, got {value!r}")
    return value


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise UserError listing them."""
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise UserError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")
    return value
