"""Each step's real batch, drawn per (class, group) cell so every mode sees the same number of images."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import check_choice


@dataclass
class RealBatch:
    """Indices of one step's real images, grouped by cell, with each image's cell."""

    index: torch.Tensor  # [R] int64 rows of the train split
    cell: torch.Tensor  # [R] int64 cell id = class * groups + group
    counts: torch.Tensor  # [C, G] int64 images per cell this step (G = 1 when the batch is pooled per class)
    population: torch.Tensor | None = None  # [C, G] int64 train images per cell, same layout


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


SAMPLINGS = ("pooled", "stratified", "grouped")


class CellSampler:
    """Draws ``per_class`` real images per class without replacement, one of three ways (``sampling``):

    - pooled (vanilla): a uniform sample of the class, the reference's behaviour, one cell per class;
    - stratified (FairDD, COBRA): the class's batch split evenly over the groups present in it, a group with
      fewer images giving what it has, one cell per (class, group);
    - grouped (DF): a uniform sample of the class, as pooled, kept in one cell per (class, group), so the
      per-group counts follow the class's group mix and change from step to step.

    Either way each class contributes min(per_class, class size) images, so every mode sees the same real
    budget per step.
    """

    def __init__(self, y: torch.Tensor, groups: torch.Tensor, num_classes: int, num_groups: int,
                 per_class: int, sampling: str, device: torch.device | str = "cpu") -> None:
        check_choice("sampling", sampling, SAMPLINGS)
        y, groups = y.to(device), groups.to(device)
        columns = 1 if sampling == "pooled" else num_groups
        self.cell_of_image = y * num_groups + groups if columns > 1 else y.clone()  # [N]
        self.population = torch.bincount(self.cell_of_image, minlength=num_classes * columns).view(num_classes,
                                                                                                   columns)  # [C, G]
        # the units a draw is balanced over: classes (pooled, grouped) or cells (stratified)
        grouped = sampling == "grouped"
        self._unit_of_image = y.clone() if grouped else self.cell_of_image  # [N]
        unit_sizes = self.population.sum(1, keepdim=True) if grouped else self.population  # [C, 1] or [C, G]
        quota = torch.stack([stratified_quota(row, per_class) for row in unit_sizes.cpu()]).to(device)
        self.counts = None if grouped else quota  # fixed per step unless grouped
        self._quota = quota.flatten()  # [units]
        self._starts = torch.cumsum(unit_sizes.flatten(), 0) - unit_sizes.flatten()  # [units] first sorted position
        self._unit_float = self._unit_of_image.to(torch.float64)
        self._positions = torch.arange(y.numel(), device=device)  # [N]
        self._total = int(quota.sum())  # images a step draws, the same every step

    def sample(self, generator: torch.Generator) -> RealBatch:
        """One step's real batch: a fresh random order inside every unit, the first quota images of each.

        The random keys come from ``generator`` on the CPU whatever the device, so a GPU run draws the same
        batches as a CPU run of the same seed; the sort runs where the labels live, without waiting for it."""
        noise = torch.rand(self._unit_float.shape, generator=generator, dtype=torch.float64)  # [N] on the CPU
        keys = self._unit_float + noise.to(self._unit_float.device, non_blocking=True)
        order = torch.argsort(keys)  # [N] grouped by unit, random inside a unit
        unit = self._unit_of_image[order]
        rank = self._positions - self._starts[unit]
        dropped = (rank >= self._quota[unit]).to(torch.uint8)  # [N] 0 for the images the step keeps
        # the kept images first, in sorted order: a size known in advance, so a GPU need not be waited for
        index = order[torch.argsort(dropped, stable=True)[:self._total]]
        cell = self.cell_of_image[index]
        counts = self.counts if self.counts is not None else \
            torch.bincount(cell, minlength=self.population.numel()).view_as(self.population)
        return RealBatch(index=index, cell=cell, counts=counts, population=self.population)


def cell_sample(y: torch.Tensor, a: torch.Tensor, num_groups: int, per_cell: int, seed: int) -> torch.Tensor:
    """Row indices of up to ``per_cell`` images of every (class, group) cell, in a seeded order, cell by cell."""
    cell = y * num_groups + a
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    ranked = cell[order]
    return torch.cat([order[ranked == c][:per_cell] for c in cell.unique().tolist()])
