"""What a config section is: typed fields that carry their check, default and run-id flags.

The schema (``schema.py``) and each method's own ``distill`` section (``methods/``) are built from these, so a
method declares its options beside its code. A check takes (dotted name, value) and returns the value
normalised, or raises a one-line UserError. Two field flags shape run ids (``schema.identity``):

- ``later``: the option was added after runs were first stored; at its default it is left out of run ids, so
  the runs stored before it existed are still found; ``earlier`` names the values those runs were computed with
  where they were not the default (left out of run ids too, so asking for one finds them);
- ``execution``: the option changes how a run is computed, not what (results agree to float rounding, and the
  same value and seed give the same result): run ids hash its default whatever its value, or leave it out
  when it is also ``later``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from .augment import DSA
from .errors import UserError, check_bool, check_choice, check_int, check_positive, check_range

Check = Callable[[str, Any], Any]


# --- checks: (dotted name, value) -> the value, normalised; a one-line UserError when it is bad --------------
def integer(low: int, high: int | None = None) -> Check:
    """An integer in [low, high]."""
    return lambda name, value: check_int(name, value, low, high)


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    return check_positive(name, value)


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return check_range(name, value, 0, float("inf"), below_high=True)


def fraction_below_one(name: str, value: Any) -> float:
    """A finite number in [0, 1)."""
    return check_range(name, value, 0, 1, below_high=True)


def boolean(name: str, value: Any) -> bool:
    """true or false."""
    return check_bool(name, value)


def one_of(names: Iterable[str] | Callable[[], Iterable[str]]) -> Check:
    """One of ``names`` (a callable is asked when checking, so registries filled later count)."""
    return lambda name, value: check_choice(name, value, names() if callable(names) else names)


def optional(check: Check) -> Check:
    """None (null), or a value ``check`` accepts."""
    return lambda name, value: None if value is None else check(name, value)


def auto_or(check: Check) -> Check:
    """The word ``auto``, or a value ``check`` accepts (its error then says that ``auto`` is accepted too)."""
    def checked(name: str, value: Any) -> Any:
        if value == "auto":
            return value
        try:
            return check(name, value)
        except UserError as error:
            raise UserError(f"{error} (or 'auto')") from None

    return checked


def dsa_strategy(name: str, value: Any) -> str:
    """DSA op groups joined by ``_`` (color, crop, cutout, flip, scale, rotate)."""
    if not isinstance(value, str):
        raise UserError(f"{name} must be DSA ops joined by '_', got {value!r}")
    DSA(value)  # raises a UserError naming an unknown op
    return value


def iterations_list(name: str, value: Any) -> list[int]:
    """A list of increasing iteration numbers >= 1."""
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{name} must be a list of iteration numbers, got {value!r}")
    steps = [check_int(name, step, 1) for step in value]
    if steps != sorted(set(steps)):
        raise UserError(f"{name} must be increasing iteration numbers, got {value!r}")
    return steps


def sha256_digest(name: str, value: Any) -> str:
    """64 lower-case hexadecimal digits (a SHA-256 digest)."""
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise UserError(f"{name} must be a SHA-256 digest (64 hex digits), got {value!r}")
    return value


def option(check: Check, default: Any = dataclasses.MISSING, *, later: bool = False, earlier: tuple = (),
           execution: bool = False) -> Any:
    """A config field: its check, its default (none: the profile must set it) and its run-id flags."""
    return field(default=default, metadata={"check": check, "later": later, "earlier": earlier,
                                            "execution": execution})


# --- sections -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Section:
    """A config section; building one checks and normalises every field."""

    name: ClassVar[str]

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = spec.metadata["check"](f"{self.name}.{spec.name}", getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)

    @classmethod
    def build(cls, values: Any) -> "Section":
        """The section from a dict: an unknown or missing key is a one-line UserError."""
        if not isinstance(values, dict):
            raise UserError(f"{cls.name} must be a mapping of {', '.join(cls.keys())}, got {values!r}")
        unknown = sorted(set(values) - set(cls.keys()))
        if unknown:
            raise UserError(f"unknown config key '{cls.name}.{unknown[0]}'; known here: {', '.join(cls.keys())}")
        missing = [key for key in cls.keys() if key not in values and key not in cls.defaults()]
        if missing:
            raise UserError(f"config key '{cls.name}.{missing[0]}' is missing: the profile must set it")
        return cls(**values)

    @classmethod
    def keys(cls) -> list[str]:
        return [spec.name for spec in fields(cls)]

    @classmethod
    def defaults(cls) -> dict:
        """The fields a profile may leave out, with their defaults."""
        return {spec.name: spec.default for spec in fields(cls) if spec.default is not dataclasses.MISSING}

    @classmethod
    def flagged(cls, flag: str) -> dict:
        """The fields with ``flag`` (later, execution) set, with their defaults."""
        return {spec.name: spec.default for spec in fields(cls) if spec.metadata[flag]}

    @classmethod
    def unhashed(cls) -> dict[str, tuple]:
        """The later fields, each with the values left out of run ids: its default and its earlier values."""
        return {spec.name: (spec.default, *spec.metadata["earlier"]) for spec in fields(cls) if spec.metadata["later"]}

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.keys()}


__all__ = ["Check", "Section", "auto_or", "boolean", "dsa_strategy", "fraction_below_one", "integer",
           "iterations_list", "non_negative", "one_of", "option", "optional", "positive"]
