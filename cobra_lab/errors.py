"""User-facing errors: one line, no traceback, exit code 2."""
from __future__ import annotations

from collections.abc import Iterable


class UserError(ValueError):
    """A bad value from the user; the CLI prints its message on one line and exits 2."""


def check_range(name: str, value: float, low: float, high: float) -> float:
    """Return ``value`` if ``low <= value <= high``, else raise a one-line UserError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}") from None
    if not low <= number <= high:
        raise UserError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return number


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in [low, high], else raise UserError."""
    allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
    if isinstance(value, bool):
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"{name} must be {allowed}, got {value!r}") from None
    if number != int(number) or number < low or (high is not None and number > high):
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    return int(number)


def check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise UserError listing them."""
    options = sorted(choices)
    if value not in options:
        raise UserError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")
    return value
