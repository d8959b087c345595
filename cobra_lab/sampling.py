"""Each step's real batch, drawn per (class, group) cell so every mode sees the same number of images."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class RealBatch:
    """Indices of one step's real images, grouped by cell, with each image's cell."""

    index: torch.Tensor  # [R] int64 rows of the train split
    cell: torch.Tensor  # [R] int64 cell id = class * groups + group
    counts: torch.Tensor  # [C, G] int64 images per cell (G = 1 when the batch is not split by group)


def stratified_quota(sizes: torch.Tensor, per_class: int) -> torch.Tensor:
    """Split ``per_class`` images evenly over a class's groups; a small group gives what it has.

    sizes: [G] images available per group. Returns [G] images taken per group; the shortfall of small
    groups is spread over the larger ones, so the total is min(per_class, sizes.sum()).
    """
    quota = torch.zeros_like(sizes)
    remaining = min(per_class, int(sizes.sum()))
    order = torch.argsort(sizes, stable=True).tolist()
    present = [g for g in order if sizes[g] > 0]
    for position, group in enumerate(present):
        share = remaining // (len(present) - position)
        quota[group] = min(int(sizes[group]), share)
        remaining -= int(quota[group])
    return quota


class CellSampler:
    """Draws ``per_class`` real images per class, stratified over groups or not, without replacement.

    Stratified (FairDD, COBRA): each class's batch is split evenly over the groups present in it, a group
    with fewer images giving what it has. Not stratified (vanilla): a uniform sample of the class, the
    reference's behaviour, and the statistics are pooled per class. Either way each class contributes
    min(per_class, class size) images, so every mode sees the same real budget per step.
    """

    def __init__(self, y: torch.Tensor, groups: torch.Tensor, num_classes: int, num_groups: int,
                 per_class: int, stratified: bool) -> None:
        self.columns = num_groups if stratified else 1
        self.cell_of_image = y * num_groups + groups if stratified else y.clone()  # [N]
        sizes = torch.bincount(self.cell_of_image, minlength=num_classes * self.columns)
        sizes = sizes.view(num_classes, self.columns)  # [C, G]
        quota = torch.stack([stratified_quota(row, per_class) for row in sizes])  # [C, G]
        self.counts = quota
        self._quota = quota.flatten()  # [K]
        self._starts = torch.cumsum(sizes.flatten(), 0) - sizes.flatten()  # [K] first sorted position
        self._cell_float = self.cell_of_image.to(torch.float64)

    def sample(self, generator: torch.Generator) -> RealBatch:
        """One step's real batch: a fresh random order inside every cell, the first quota images of each."""
        keys = self._cell_float + torch.rand(self._cell_float.shape, generator=generator, dtype=torch.float64)
        order = torch.argsort(keys)  # [N] grouped by cell, random inside a cell
        cell = self.cell_of_image[order]
        rank = torch.arange(order.numel()) - self._starts[cell]
        take = rank < self._quota[cell]
        return RealBatch(index=order[take], cell=cell[take], counts=self.counts)


def cell_sample(y: torch.Tensor, a: torch.Tensor, num_groups: int, per_cell: int, seed: int) -> torch.Tensor:
    """Row indices of up to ``per_cell`` images of every (class, group) cell, in a seeded order, cell by cell."""
    cell = y * num_groups + a
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    ranked = cell[order]
    return torch.cat([order[ranked == c][:per_cell] for c in cell.unique().tolist()])
