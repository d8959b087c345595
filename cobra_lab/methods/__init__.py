"""Distillation methods: what each one matches (a statistic of a batch, or a training trajectory) and how it
measures the difference; and the selection baselines, which pick real images instead. Methods know no loop:
``cobra_lab.loops`` picks the loop by a method's ``kind``."""
from __future__ import annotations

from . import cafe, dc, dm, idc, mtt, selection  # noqa: F401  (registers the methods)
from .base import Method, StatisticMethod, TrajectoryMethod
from .registry import METHODS

__all__ = ["METHODS", "Method", "StatisticMethod", "TrajectoryMethod"]
