"""What every distillation method provides to the distillation loop."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import nets
from ..compiled import compilation_failed, frozen_embedder
from ..sampling import RealBatch

Augment = Callable[[torch.Tensor], torch.Tensor]


class Method:
    """A statistic Phi of a batch (per cell for real images, per class for synthetic ones) and a distance D."""

    name = "method"
    norms: tuple[str, ...] | None = None  # the net norms the method works with (None: any)
    cpu_chunk = 128  # real images per forward on the CPU (measured per method with benchmarks/bench_step.py)

    def __init__(self, config: dict, image_shape: tuple[int, int, int], num_classes: int) -> None:
        self.distill = config["distill"]
        self.net_config = dict(config["net"])
        self.image_shape = image_shape
        self.num_classes = num_classes

    def chunk_size(self, device: torch.device) -> int:
        """Real images per forward pass: small chunks stay in CPU caches; a GPU takes the whole batch."""
        chunk = self.distill["real_chunk"]
        if chunk == "auto":
            return self.cpu_chunk if device.type == "cpu" else 1 << 20
        return int(chunk)

    def compiles(self, device: torch.device) -> bool:
        """Whether passes on ``device`` run compiled: ``distill.compile`` is on, the device is the CPU and compiling
        has not failed in this process."""
        return self.distill["compile"] and device.type == "cpu" and not compilation_failed()

    def embedder(self, net: nn.Module, device: torch.device,
                 chunk: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
        """``net.embed`` of a frozen net; compiled (chunks padded to ``chunk`` rows) when ``compiles``."""
        return frozen_embedder(net, chunk) if self.compiles(device) else net.embed

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
