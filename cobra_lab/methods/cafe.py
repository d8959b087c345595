"""CAFE: align the class means of a ConvNet's layer features, plus a discrimination loss, with the net trained
between image steps.

Phi of a batch is the mean of every tap of ``ConvNet.taps`` (each block's activation, then the last pooled map),
flattened and concatenated; D is the layer-weighted sum of squared differences (CAFE's summed MSE per layer).
The embedding (the pooled map flattened) is matched on the same numbers as the pooled map, so its weight adds to
the pooled map's. The discrimination term classifies each real image of the step by the dot product of its
embedding with the synthetic class means of the embedding (cross-entropy summed over the images); it enters
through ``extra_loss``, the same in every mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import accel
from ..errors import UserError
from ..options import boolean, integer, non_negative, option, optional
from ..sampling import RealBatch
from ..sections import RunConfig
from ..training import train_epochs
from .base import Augment, DistillConfig, StatisticMethod
from .dc import reference_loops
from .registry import METHODS


def set_trainable(net: nn.Module, trainable: bool) -> None:
    """Switch gradients of the net's parameters on or off (off while only the images learn)."""
    for parameter in net.parameters():
        parameter.requires_grad_(trainable)


def flat_taps(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The net's layer features of images x [N, C, H, W], each flattened per image: [[N, D_k] per tap]."""
    return [tap.flatten(1) for tap in net.taps(x)]


def layer_weights(name: str, value: Any) -> list[float]:
    """A non-empty list of finite numbers >= 0."""
    if not isinstance(value, (list, tuple)) or not value:
        raise UserError(f"{name} must be a list of layer weights, got {value!r}")
    return [non_negative(name, weight) for weight in value]


@dataclass(frozen=True, kw_only=True)
class CAFEDistill(DistillConfig):
    """CAFE's own options (null loops: the reference table for the IPC). ``layer_weights`` weigh the aligned
    layers: one per ConvNet block, then the last pooled map, then the embedding (the same numbers flattened).
    CAFE has no compiled passes, so ``compile`` changes nothing for it."""

    outer_loop: int | None = option(optional(integer(1)))
    inner_loop: int | None = option(optional(integer(1)))
    layer_weights: list[float] = option(layer_weights)
    discrimination_weight: float = option(non_negative)
    average_classes: bool = option(boolean, False)


@METHODS.register("cafe")
class CAFE(StatisticMethod):
    """CAFE: Phi = per-layer mean features; D = layer-weighted summed squared error; a discrimination loss on the
    real images; outer image steps per net with inner epochs on the synthetic set between them."""

    name = "cafe"
    norms = ("instancenorm", "groupnorm", "layernorm", "none")  # per-image norms: cell means from one pass are exact
    archs = ("convnet",)  # the layer taps are the ConvNet's
    section = CAFEDistill

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        """One layer weight per tap: net.depth blocks, the pooled map, the embedding."""
        weights, depth = config.distill.layer_weights, config.net.depth
        if len(weights) != depth + 2:
            raise UserError(f"distill.layer_weights needs net.depth + 2 = {depth + 2} weights (one per block, the "
                            f"pooled map, the embedding), got {len(weights)}")

    def __init__(self, config: RunConfig, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(config, image_shape, num_classes)
        outer, inner = reference_loops(config.ipc)
        self.outer = self.settings.outer_loop or outer
        self.inner = self.settings.inner_loop or inner
        self.weights: torch.Tensor | None = None  # [D] the layer weight of every statistic entry
        self.real_embeddings: torch.Tensor | None = None  # [R, E] this step's real embeddings (for extra_loss)
        self.real_labels: torch.Tensor | None = None  # [R]

    def rounds(self) -> int:
        return self.outer

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        """Freeze the fresh net while the images learn; note each statistic entry's layer weight."""
        set_trainable(net, False)
        if self.weights is None:
            with torch.no_grad():
                sizes = [tap.shape[1] for tap in flat_taps(net, x_syn[:1])]  # [D_k per tap]
            weights = self.settings.layer_weights
            per_tap = [*weights[:-2], weights[-2] + weights[-1]]  # the embedding is the last map's numbers
            scale = 1.0 / self.num_classes if self.settings.average_classes else 1.0
            self.weights = torch.repeat_interleave(torch.tensor(per_tap) * scale, torch.tensor(sizes)).to(x_syn)

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Train the network for ``inner`` epochs on the current synthetic set, then freeze it again."""
        set_trainable(net, True)
        train_epochs(net, x_syn.detach(), y_syn, self.inner, lr=self.settings.lr_net, generator=generator,
                     batch=self.settings.batch_train)
        set_trainable(net, False)

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        with torch.no_grad():
            augmented = augment(x)  # [R, C, H, W]
        means, self.real_embeddings = accel.cell_layer_means(net, augmented, batch.cell, batch.counts.flatten(),
                                                             self.acceleration)  # [K, D], [R, E]
        self.real_labels = batch.cell.to(x.device) // batch.counts.shape[1]  # [R]
        return means

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        taps = flat_taps(net, augment(x_syn))  # [[C * ipc, D_k] per tap]
        return torch.cat([tap.view(self.num_classes, -1, tap.shape[1]).mean(1) for tap in taps], dim=1)  # [C, D]

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return ((u - v).pow(2) * self.weights).sum(-1)

    def squared_distance(self) -> bool:
        """The alignment term's distance is the layer-weighted squared one (the discrimination term is not)."""
        return True

    def extra_loss(self, net: nn.Module, batch: RealBatch, syn: torch.Tensor) -> torch.Tensor | None:
        """The discrimination loss: each real image's embedding scored by dot product against the synthetic class
        means of the embedding, cross-entropy summed over the step's real images, times
        ``discrimination_weight``."""
        weight = self.settings.discrimination_weight
        if weight == 0:
            return None
        prototypes = syn[:, -self.real_embeddings.shape[1]:]  # [C, E] synthetic embedding means
        logits = self.real_embeddings @ prototypes.t()  # [R, C]
        return weight * F.cross_entropy(logits, self.real_labels, reduction="sum")
