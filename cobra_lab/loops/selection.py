"""The selection "loop": no iterations, one seeded draw of real train images (``methods/selection.py``)."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..data.types import GroupedData
from ..methods.selection import SelectionMethod
from ..sampling import CellSampler
from ..sections import RunConfig
from ..synset import SynSet
from .registry import LOOPS
from .skeleton import IterationHook


@LOOPS.register(SelectionMethod.kind)
def select_images(data: GroupedData, config: RunConfig, method: SelectionMethod, device: torch.device,
                  store_root: Path, checkpoint: Path | None = None, progress: bool = True,
                  log: Callable[[str], None] | None = None, on_iteration: IterationHook | None = None) -> SynSet:
    """``config.ipc`` train images per class drawn without replacement by the method's sampling (over the observed
    groups), from a generator seeded by ``config.seed``, in class blocks; each keeps its row and observed group as
    provenance. There are no iterations: ``on_iteration`` is never called and nothing is checkpointed."""
    began = time.time()
    sampler = CellSampler(data.train.y, data.train.a_observed, data.num_classes, data.num_groups, config.ipc,
                          method.sampling)
    index = sampler.sample(torch.Generator().manual_seed(config.seed)).index  # [C * ipc]
    index = index[torch.argsort(data.train.y[index], stable=True)]  # class blocks
    if log is not None:
        log(f"selected {index.numel()} train images ({method.sampling} over each class's groups)")
    return SynSet(data.train.x[index].clone(), data.train.y[index].clone(), index, data.train.a_observed[index].clone(),
                  [], time.time() - began)
