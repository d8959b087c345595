"""Distribution matching (DM): the mean embedding of a batch under a random, frozen ConvNet."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import accel
from ..options import integer, one_of, option
from ..sampling import RealBatch
from ..training import train_epochs
from .base import Augment, DistillConfig, StatisticMethod
from .registry import METHODS

DISTANCES = {
    "sq": lambda u, v: (u - v).pow(2).sum(-1),  # squared L2 summed over dims (DM, FairDD)
    "l1": lambda u, v: (u - v).abs().sum(-1),  # L1, as the released COBRA-DM code uses
}


@dataclass(frozen=True, kw_only=True)
class DMDistill(DistillConfig):
    """DM's own options."""

    distance: str = option(one_of(DISTANCES))
    warmup_epochs: int = option(integer(0))


@METHODS.register("dm")
class DM(StatisticMethod):
    """DM: Phi = mean embedding; D = squared L2 (or L1); one image step per fresh random network."""

    name = "dm"
    section = DMDistill

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        """Optionally warm the fresh net up on the current synthetic set (COBRA code), then freeze it."""
        epochs = self.settings.warmup_epochs
        if epochs > 0:
            train_epochs(net, x_syn.detach(), y_syn, epochs, lr=self.settings.lr_net, generator=generator,
                         batch=self.settings.batch_train, augment=self.augmentation())
        net.eval()  # instance norm has no running statistics; eval() only matters for other norms
        for parameter in net.parameters():
            parameter.requires_grad_(False)

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        with torch.no_grad():
            augmented = augment(x)  # [R, C, H, W]
        return accel.cell_means(net, augmented, batch.cell, batch.counts.flatten(), self.acceleration)  # [K, D]

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        embeddings = accel.embeddings(net, augment(x_syn), self.acceleration)  # [C * ipc, D]
        return embeddings.view(self.num_classes, -1, embeddings.shape[1]).mean(1)  # [C, D]

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return DISTANCES[self.settings.distance](u, v)

    def squared_distance(self) -> bool:
        return self.settings.distance == "sq"
