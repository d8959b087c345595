"""Dataset condensation (DC): the cross-entropy gradient of a batch w.r.t. the weight matrices of a ConvNet.

Real per-cell gradients are detached; the synthetic per-class gradients keep their graph so the images can
learn. How they are computed fast (one forward and backward for all cells, threads, compiled passes) is
``cobra_lab.accel``'s business.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import accel
from ..accel.gradients import matched_layers
from ..options import integer, option, optional
from ..sampling import RealBatch
from ..sections import RunConfig
from ..training import train_epochs
from .base import Augment, DistillConfig, StatisticMethod
from .registry import METHODS

# (outer, inner) loops of the reference per ipc; others: below 10 -> (5, 10) [COBRA], above 50 -> (100, 10) [FairDD]
REFERENCE_LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}


def reference_loops(ipc: int) -> tuple[int, int]:
    """The reference (outer, inner) loop counts for ``ipc`` images per class."""
    if ipc in REFERENCE_LOOPS:
        return REFERENCE_LOOPS[ipc]
    return (5, 10) if ipc < 10 else (100, 10) if ipc > 50 else REFERENCE_LOOPS[10 * round(ipc / 10)]


def matrix_shapes(net: nn.Module) -> list[tuple[int, int]]:
    """(rows, columns) of each matched weight, in the order of ``accel.cell_gradients``' columns."""
    return [(layer.weight.shape[0], layer.weight[0].numel()) for layer in matched_layers(net)]


def rowwise_cosine_distance(u: torch.Tensor, v: torch.Tensor, shapes: list[tuple[int, int]]) -> torch.Tensor:
    """Sum over parameter rows of 1 - cos(u_row, v_row) (the DC 'ours' metric): [..., D] x [..., D] -> [...].

    ``shapes`` must cover D exactly (a ValueError otherwise), so a stale or missing layout never reads as 0."""
    width = sum(rows * cols for rows, cols in shapes)
    if u.shape[-1] != width or v.shape[-1] != width:
        raise ValueError(f"statistics of width {u.shape[-1]} and {v.shape[-1]} do not match the {width} weights "
                         f"of the layer shapes {shapes}")
    total = u.new_zeros(torch.broadcast_shapes(u.shape[:-1], v.shape[:-1]))
    start = 0
    for rows, cols in shapes:
        a = u[..., start:start + rows * cols].unflatten(-1, (rows, cols))  # [..., rows, cols]
        b = v[..., start:start + rows * cols].unflatten(-1, (rows, cols))
        cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + 1e-6)  # [..., rows]
        total = total + (1 - cosine).sum(-1)
        start += rows * cols
    return total


@dataclass(frozen=True, kw_only=True)
class DCDistill(DistillConfig):
    """DC's own options (null loops: the reference table for the IPC)."""

    outer_loop: int | None = option(optional(integer(1)))
    inner_loop: int | None = option(optional(integer(1)))


@METHODS.register("dc")
class DC(StatisticMethod):
    """DC: Phi = gradient of the mean cross-entropy; D = per-row cosine distance; outer/inner loops."""

    name = "dc"
    section = DCDistill
    norms = ("instancenorm", "groupnorm", "none")  # per-image gradients need a norm that mixes no images

    def __init__(self, config: RunConfig, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(config, image_shape, num_classes)
        outer, inner = reference_loops(config.ipc)
        self.outer = self.settings.outer_loop or outer
        self.inner = self.settings.inner_loop or inner
        self.shapes: list[tuple[int, int]] = []

    def rounds(self) -> int:
        return self.outer

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        net.train()
        self.shapes = matrix_shapes(net)

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Train the network for ``inner`` epochs on the current synthetic set."""
        train_epochs(net, x_syn.detach(), y_syn, self.inner, lr=self.settings.lr_net, generator=generator,
                     batch=self.settings.batch_train)

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        labels = batch.cell // batch.counts.shape[1]  # [R]: a cell's class
        return accel.cell_gradients(net, augment(x), batch.cell, batch.counts.flatten(), labels,
                                    self.acceleration)  # [K, D]

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        return accel.class_gradients(net, augment(x_syn), self.num_classes, self.acceleration)  # [C, D]

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if not self.shapes:
            raise RuntimeError("DC.distance needs the net's layer shapes: call prepare(net, ...) first")
        return rowwise_cosine_distance(u, v, self.shapes)
