"""What every distillation method provides to the distillation loop, and the options that loop takes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from .. import nets
from ..accel import Acceleration
from ..barycenter import DISCREPANCIES
from ..modes import FAIRDD_REDUCTIONS
from ..options import (
    Section,
    auto_or,
    boolean,
    dsa_strategy,
    fraction_below_one,
    integer,
    iterations_list,
    one_of,
    option,
    optional,
    positive,
)
from ..sampling import RealBatch

if TYPE_CHECKING:
    from ..data.types import GroupedData
    from ..distill import IterationHook, SynSet

Augment = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class DistillConfig(Section):
    """The ``distill`` options of every method the distillation loop (``distill.py``) drives; a method's own
    section adds its options to these."""

    name: ClassVar[str] = "distill"
    iterations: int = option(integer(1))
    lr_img: float = option(positive)
    momentum: float = option(fraction_below_one)
    real_per_class: int = option(integer(1))
    init: str = option(one_of(("real", "noise")))
    dsa: bool = option(boolean)
    dsa_strategy: str = option(dsa_strategy)
    lr_net: float = option(positive)
    batch_train: int = option(integer(1))
    real_chunk: int | str = option(auto_or(integer(1)), "auto", execution=True)
    compile: bool = option(boolean, False, later=True, execution=True)
    discrepancy: str = option(one_of(DISCREPANCIES), "sq", later=True)
    extractor: str = option(one_of(("random", "fair")), "random", later=True)
    extractor_epochs: int = option(integer(1), 1, later=True)
    lr_img_halve_at: list[int] | None = option(optional(iterations_list), None, later=True)
    fairdd_reduction: str = option(one_of(FAIRDD_REDUCTIONS), "sum", later=True)


class Method:
    """A statistic Phi of a batch (per cell for real images, per class for synthetic ones) and a distance D."""

    name = "method"
    norms: tuple[str, ...] | None = None  # the net norms the method works with (None: any)
    archs: tuple[str, ...] | None = None  # the net architectures the method works with (None: any)
    section: ClassVar[type[Section]] = DistillConfig  # its ``distill`` config section, checked by the schema

    @classmethod
    def check_config(cls, config: dict) -> None:
        """The method's rules that tie its options to the rest of a resolved ``config`` (none by default): a
        one-line UserError naming the keys when they do not fit together."""

    @classmethod
    def distill_set(cls, data: GroupedData, config: dict, root: Path, checkpoint: Path, progress: bool,
                    log: Callable[[str], None], on_iteration: IterationHook | None = None) -> SynSet:
        """Distill the run's set (a ``SynSet``) with the shared distillation loop, calling ``on_iteration`` after
        each iteration; a method that needs its own loop overrides this (``root`` is the run store, for what such
        a loop keeps beside the runs)."""
        from ..distill import distill  # the loop imports the methods

        return distill(data, config, checkpoint=checkpoint, progress=progress, log=log, on_iteration=on_iteration)

    def __init__(self, config: dict, image_shape: tuple[int, int, int], num_classes: int) -> None:
        self.distill = config["distill"]
        self.net_config = dict(config["net"])
        self.image_shape = image_shape
        self.num_classes = num_classes

    @property
    def acceleration(self) -> Acceleration:
        """How the method's passes may run fast (``distill.compile``, ``distill.real_chunk``): for ``accel``."""
        return Acceleration.of(self.distill)

    def decode(self, x_syn: torch.Tensor) -> torch.Tensor:
        """The images the stored synthetic tensor x_syn [N, C, H, W] stands for, each stored image's in a consecutive
        block of the same size: [N * k, C, H, W] (the images themselves by default, k = 1); differentiable."""
        return x_syn

    def rounds(self) -> int:
        """Synthetic-image updates per fresh network."""
        return 1

    def new_net(self, generator: torch.Generator) -> nn.Module:
        """A freshly initialised network, seeded from ``generator``."""
        options = {k: v for k, v in self.net_config.items() if k != "arch"}
        channels, size = self.image_shape[0], self.image_shape[-1]
        return nets.build(self.net_config["arch"], channels, self.num_classes, size, generator, **options)

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        """Work on a fresh network before its first round (nothing by default)."""

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Work on the network between two rounds (nothing by default)."""

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        """Per-cell statistics [K, D] of real images x [R, C, H, W] (cells of ``batch``), detached."""
        raise NotImplementedError

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        """Per-class statistics [classes, D] of the synthetic images [classes * ipc, C, H, W], differentiable."""
        raise NotImplementedError

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Distance between statistics u, v [..., D] -> [...]."""
        raise NotImplementedError

    def extra_loss(self, net: nn.Module, batch: RealBatch, syn: torch.Tensor) -> torch.Tensor | None:
        """A term added to the mode's loss whatever the mode (None: no term, the default), for what a per-cell
        statistic cannot carry, such as a loss on each real image. Called once per image step, after that step's
        ``real_statistics`` and ``synthetic_statistics`` (syn [classes, D]), so it may reuse what they computed."""
        return None
