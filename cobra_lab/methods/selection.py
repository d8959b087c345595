"""Selection baselines: IPC real train images per class, picked instead of distilled, to answer whether a distilled
set beats picking images at the same IPC. They take no mode and have no ``distill`` section; the selection loop
(``loops/selection.py``) draws them, and their set is stored and evaluated like a distilled one."""
from __future__ import annotations

from typing import ClassVar

from ..options import Section
from .base import Method
from .registry import METHODS


class SelectionMethod(Method):
    """IPC real train images per class, spread over each class's observed groups as ``sampling`` (a
    ``CellSampler`` sampling) says."""

    kind: ClassVar[str] = "selection"
    section: ClassVar[type[Section] | None] = None
    takes_mode: ClassVar[bool] = False
    sampling: ClassVar[str]


@METHODS.register("random")
class RandomSelection(SelectionMethod):
    """IPC images per class drawn uniformly from the class: their group mix follows the biased train split."""

    name = "random"
    sampling = "pooled"


@METHODS.register("random_balanced")
class BalancedSelection(SelectionMethod):
    """IPC images per class drawn evenly over the class's groups, a small group giving what it has."""

    name = "random_balanced"
    sampling = "stratified"


def selection_methods() -> list[str]:
    """The names of the selection baselines, as registered."""
    return [name for name in METHODS.names() if METHODS.get(name).kind == SelectionMethod.kind]
