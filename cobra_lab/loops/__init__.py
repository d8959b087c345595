"""Distillation loops: ``distill`` is the front door; it builds the run's method and hands it to the loop of the
method's kind: statistic matching or trajectory matching, both built on one skeleton (``skeleton.py``), or one
seeded draw of real images for the selection baselines."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..data.types import GroupedData
from ..methods import METHODS
from ..sections import RunConfig
from ..store import default_root
from ..synset import SynSet
from ..training import resolve_device
from . import selection, statistic_matching, trajectory_matching  # noqa: F401  (registers the loops)
from .registry import LOOPS
from .skeleton import IterationHook


def distill(data: GroupedData, config: RunConfig, store_root: str | Path | None = None,
            checkpoint: str | Path | None = None, progress: bool = True, log: Callable[[str], None] | None = None,
            on_iteration: IterationHook | None = None) -> SynSet:
    """Distill ``config.ipc`` images per class from ``data.train`` with the config's method and mode.

    ``store_root`` is where what a loop keeps beside the runs lives (MTT's expert trajectories; None: the default
    store). With ``checkpoint``, state is saved there about every minute or tenth of the run and a later call
    resumes from it, giving the same result as an uninterrupted run; it says ``resumed at iteration k of n`` to
    ``log`` and the progress output. ``on_iteration(done, snapshot)`` is called after each iteration with the
    iterations done so far and a function returning the set as it stands (nothing is copied unless it is called).
    """
    method = METHODS.build(config.method, config, data.image_shape, data.num_classes)
    loop = LOOPS.get(method.kind)
    return loop(data, config, method, resolve_device(config.device), Path(store_root or default_root()),
                checkpoint=Path(checkpoint) if checkpoint else None, progress=progress, log=log,
                on_iteration=on_iteration)


__all__ = ["IterationHook", "distill"]
