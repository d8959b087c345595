"""The loop registry: one distillation loop per method kind (``Method.kind``), registered by its module."""
from __future__ import annotations

from collections.abc import Callable

from ..registry import Registry

LOOPS: Registry[Callable] = Registry("loop")
