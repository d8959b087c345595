"""Biased, group-annotated image datasets: ``load(name, ...) -> GroupedData``; ``DATASETS`` names them, the
built-in ones and a user's own (params/datasets/*.yaml, found through ``own``)."""
from . import own  # noqa: F401 - lets the registry find the users' datasets wherever it is imported from
from .datasets import DATASETS
from .loader import load
from .types import GroupedData, Split

__all__ = ["DATASETS", "GroupedData", "Split", "load"]
