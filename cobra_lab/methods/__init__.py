"""Distillation methods: each defines a statistic of a batch and a distance between statistics."""
from __future__ import annotations

from ..registry import Registry
from .base import Method

METHODS: Registry[Method] = Registry("method")

from . import cafe, dc, dm, idc, mtt  # noqa: E402,F401  (registers the methods)

__all__ = ["METHODS", "Method"]
