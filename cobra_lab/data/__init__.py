"""Biased, group-annotated image benchmarks: ``load(name, ...) -> GroupedData``."""
from .benchmarks import BENCHMARKS
from .loader import load
from .types import GroupedData, Split

DATASETS: tuple[str, ...] = tuple(BENCHMARKS.names())

__all__ = ["DATASETS", "GroupedData", "Split", "load"]
