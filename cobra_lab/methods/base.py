"""What a distillation method declares, by kind: a statistic method says what statistic of a batch is matched and
how two statistics differ; a trajectory method says how a student is unrolled on the synthetic set and compared
with an expert's checkpoints. A method knows no loop: the loop of its ``kind`` (``cobra_lab.loops``) drives it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .. import nets
from ..accel import Acceleration
from ..augment import DSA
from ..barycenter import DISCREPANCIES
from ..errors import UserError
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
from ..sections import RunConfig

Augment = Callable[[torch.Tensor], torch.Tensor]


class Method:
    """What every method declares: its name, its kind (which loop drives it), its ``distill`` config section, the
    nets it works with and its cross-key rules; it builds its nets and decodes its stored images."""

    name: ClassVar[str] = "method"
    kind: ClassVar[str]  # the loop that drives it: "statistic", "trajectory" or "selection"
    norms: ClassVar[tuple[str, ...] | None] = None  # the net norms the method works with (None: any)
    archs: ClassVar[tuple[str, ...] | None] = None  # the net architectures the method works with (None: any)
    section: ClassVar[type[Section] | None]  # its ``distill`` config section, checked by the schema (None: none)
    takes_mode: ClassVar[bool] = True  # whether its config names a mode (vanilla, fairdd, cobra, ...)

    @classmethod
    def check(cls, config: RunConfig) -> None:
        """Every rule a checked ``config`` of the method must follow: its kind's (``check_kind``), then its own
        (``check_config``)."""
        cls.check_kind(config)
        cls.check_config(config)

    @classmethod
    def check_kind(cls, config: RunConfig) -> None:
        """The rules every method of this kind follows (none by default)."""

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        """The method's own rules that tie its options to the rest of a checked ``config`` (none by default): a
        one-line UserError naming the keys when they do not fit together."""

    def __init__(self, config: RunConfig, image_shape: tuple[int, int, int], num_classes: int) -> None:
        self.settings = config.distill
        self.net_config = config.net
        self.ipc = config.ipc
        self.image_shape = image_shape
        self.num_classes = num_classes

    def new_net(self, generator: torch.Generator) -> nn.Module:
        """A freshly initialised network, seeded from ``generator``."""
        return nets.build(self.net_config.arch, self.image_shape[0], self.num_classes, self.image_shape[-1], generator,
                          **self.net_config.options)

    def decode(self, x_syn: torch.Tensor) -> torch.Tensor:
        """The images the stored synthetic tensor x_syn [N, C, H, W] stands for, each stored image's in a consecutive
        block of the same size: [N * k, C, H, W] (the images themselves by default, k = 1); differentiable."""
        return x_syn

    def augmentation(self) -> DSA | None:
        """The differentiable Siamese augmentation the distillation applies (``distill.dsa``), or None."""
        return DSA(self.settings.dsa_strategy) if self.settings.dsa else None


@dataclass(frozen=True, kw_only=True)
class DistillConfig(Section):
    """The ``distill`` options of every statistic method (the loop that matches statistics takes them); a method's
    own section adds its options to these."""

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


class StatisticMethod(Method):
    """A statistic Phi of a batch (per cell for real images, per class for synthetic ones) and a distance D."""

    kind: ClassVar[str] = "statistic"
    section: ClassVar[type[Section]] = DistillConfig

    @classmethod
    def check_kind(cls, config: RunConfig) -> None:
        """A barycenter discrepancy other than the squared distance shapes COBRA's target only."""
        if config.distill.discrepancy != "sq" and config.mode != "cobra":
            raise UserError(f"distill.discrepancy={config.distill.discrepancy} needs mode cobra (it shapes COBRA's "
                            f"barycenter)")

    @property
    def acceleration(self) -> Acceleration:
        """How the method's passes may run fast (``distill.compile``, ``distill.real_chunk``): for ``accel``."""
        return Acceleration(self.settings.compile, self.settings.real_chunk)

    def rounds(self) -> int:
        """Synthetic-image updates per fresh network."""
        return 1

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

    def squared_distance(self) -> bool:
        """Whether ``distance`` is a squared Euclidean one (entries may carry fixed weights): under it FairDD's
        per-group sum is G times COBRA's loss plus a constant (False by default)."""
        return False

    def extra_loss(self, net: nn.Module, batch: RealBatch, syn: torch.Tensor) -> torch.Tensor | None:
        """A term added to the mode's loss whatever the mode (None: no term, the default), for what a per-cell
        statistic cannot carry, such as a loss on each real image. Called once per image step, after that step's
        ``real_statistics`` and ``synthetic_statistics`` (syn [classes, D]), so it may reuse what they computed."""
        return None


class TrajectoryMethod(Method):
    """A student unrolled on the synthetic set from an expert's checkpoint, and its distance to a later checkpoint.

    The loop keeps a bank of expert checkpoints [experts, sets, epochs, P] (``bank_sets`` says which sets a mode
    matches), draws a segment of it each iteration, unrolls the student over the synthetic images at a learnable
    learning rate and moves the images (and that rate) to shrink ``matching_loss``."""

    kind: ClassVar[str] = "trajectory"

    def bank_sets(self, trajectory: torch.Tensor, mode: str) -> torch.Tensor:
        """The checkpoint sets one expert index contributes, from its trajectories [sets, epochs + 1, P] under
        ``mode`` -> [sets', epochs + 1, P]."""
        raise NotImplementedError

    def last_epoch(self) -> int:
        """The last expert epoch a segment reaches (the bank keeps epochs 0..last)."""
        raise NotImplementedError

    def segment(self, bank: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One draw from bank [experts, sets, epochs, P]: the start and target checkpoints, each [sets, P]."""
        raise NotImplementedError

    def unroll(self, student: nn.Module, starts: torch.Tensor, x_syn: torch.Tensor, y_syn: torch.Tensor,
               lr: torch.Tensor, generator: torch.Generator, dsa: DSA | None) -> torch.Tensor:
        """The student's parameters [P] after training from ``starts`` [sets, P] on the synthetic set x_syn
        [S, C, H, W], y_syn [S] at learning rate ``lr``; differentiable w.r.t. the images and ``lr``."""
        raise NotImplementedError

    def matching_loss(self, mode: str, end: torch.Tensor, starts: torch.Tensor,
                      targets: torch.Tensor) -> torch.Tensor:
        """The loss of the student's end point end [P] given the segment's starts and targets [sets, P]."""
        raise NotImplementedError
