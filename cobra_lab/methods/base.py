"""What every distillation method provides to the distillation loop."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import nets
from ..accel import Acceleration
from ..sampling import RealBatch

Augment = Callable[[torch.Tensor], torch.Tensor]


class Method:
    """A statistic Phi of a batch (per cell for real images, per class for synthetic ones) and a distance D."""

    name = "method"
    norms: tuple[str, ...] | None = None  # the net norms the method works with (None: any)
    archs: tuple[str, ...] | None = None  # the net architectures the method works with (None: any)

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
