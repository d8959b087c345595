"""Biased, group-annotated image datasets: ``load(name, ...) -> GroupedData``; ``DATASETS`` names them."""
from .datasets import DATASETS
from .loader import load
from .types import GroupedData, Split

__all__ = ["DATASETS", "GroupedData", "Split", "load"]
