"""How the real statistic of a class is formed from its groups: vanilla, FairDD or COBRA.

A mode turns a table of real statistics ``phi[C, G, D]`` (one row per (class, group) cell, with the
number of real images behind each cell in ``counts[C, G]`` and in the train split in ``population[C, G]``)
and the synthetic statistic ``syn[C, D]`` into one scalar loss, given the method's distance
``distance(u[..., D], v[..., D]) -> [...]``. Its ``sampling`` says how the real batch is drawn
(``sampling.CellSampler``).
A mode never knows which method it serves.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from .barycenter import barycenter
from .options import Section
from .registry import Registry

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MODES: Registry["Mode"] = Registry("mode")


def _mixture(phi: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
    """Per class, the mixture [C, D] of the cell statistics phi [C, G, D] with weights mass [C, G] normalised to one."""
    mass = mass.to(torch.float32)
    weights = mass / mass.sum(dim=1, keepdim=True).clamp_min(1e-12)  # [C, G]
    return torch.einsum("cg,cgd->cd", weights.to(phi.dtype), phi)


@dataclass(frozen=True)
class Mode:
    """A fairness mode, and how it samples each class's real batch (pooled, stratified or grouped)."""

    name: str
    sampling: str

    def target(self, phi: torch.Tensor, counts: torch.Tensor, population: torch.Tensor | None = None) -> torch.Tensor:
        """The class target [C, D] that the synthetic statistic is pulled to."""
        raise NotImplementedError(f"mode {self.name!r} has no single class target")

    def configured(self, distill: Section) -> "Mode":
        """This mode with the options it takes from a config's ``distill`` section (none by default)."""
        return self

    def loss(self, phi: torch.Tensor, counts: torch.Tensor, syn: torch.Tensor, distance: Distance,
             population: torch.Tensor | None = None) -> torch.Tensor:
        """Sum over classes of the distance between the synthetic statistic and the class target."""
        return distance(self.target(phi, counts, population), syn).sum()


class Vanilla(Mode):
    """The pooled class statistic: group statistics weighted by their share of the class batch."""

    def target(self, phi: torch.Tensor, counts: torch.Tensor, population: torch.Tensor | None = None) -> torch.Tensor:
        return _mixture(phi, counts)  # weighted by the images behind each cell


class Reweighted(Mode):
    """DF of the paper's Appendix N: the vanilla batch (a uniform sample of each class) with every real image
    weighted by 1 / (G_y * pi(a|y)), pi(a|y) its group's share of class y in the train split: the cell
    weights counts[c, g] / pi(g|c), normalised per class (G_y cancels). In expectation this is the uniform
    mean over groups, COBRA's squared-norm target, reached by importance weights instead of a stratified
    batch, so a rare group's few images carry its whole weight."""

    def target(self, phi: torch.Tensor, counts: torch.Tensor, population: torch.Tensor | None = None) -> torch.Tensor:
        if population is None:
            raise ValueError("mode df needs the train split's images per cell (population)")
        share = population / population.sum(dim=1, keepdim=True).clamp_min(1)  # [C, G] pi(g|c)
        return _mixture(phi, torch.where(counts > 0, counts / share.clamp_min(1e-12), torch.zeros_like(share)))


@dataclass(frozen=True)
class Cobra(Mode):
    """COBRA's barycenter of the statistics of the groups present: under the squared norm (default) their
    uniform mean, under another ``discrepancy`` (l1, l2, linf, cosine, huber) its L-BFGS minimiser."""

    discrepancy: str = "sq"

    def target(self, phi: torch.Tensor, counts: torch.Tensor, population: torch.Tensor | None = None) -> torch.Tensor:
        if self.discrepancy == "sq":
            return _mixture(phi, counts > 0)  # uniform over the groups present
        return barycenter(phi, counts > 0, self.discrepancy)  # [C, D]

    def configured(self, distill: Section) -> "Mode":
        return replace(self, discrepancy=distill.discrepancy)


FAIRDD_REDUCTIONS = ("sum", "mean")


@dataclass(frozen=True)
class FairDD(Mode):
    """FairDD: one distance per group present, summed over the groups (``reduction`` sum, as FairDD's code does)
    or averaged over them (mean, as the released COBRA code's IDC does), then summed over classes."""

    reduction: str = "sum"

    def loss(self, phi: torch.Tensor, counts: torch.Tensor, syn: torch.Tensor, distance: Distance,
             population: torch.Tensor | None = None) -> torch.Tensor:
        per_cell = distance(phi, syn.unsqueeze(1).expand_as(phi))  # [C, G]
        present = (counts > 0).to(per_cell.dtype)  # [C, G]
        per_class = (per_cell * present).sum(1)  # [C]
        if self.reduction == "mean":
            per_class = per_class / present.sum(1).clamp_min(1)
        return per_class.sum()

    def configured(self, distill: Section) -> "Mode":
        return replace(self, reduction=distill.fairdd_reduction)


MODES.register("vanilla")(lambda: Vanilla("vanilla", sampling="pooled"))
MODES.register("fairdd")(lambda: FairDD("fairdd", sampling="stratified"))
MODES.register("cobra")(lambda: Cobra("cobra", sampling="stratified"))
MODES.register("df")(lambda: Reweighted("df", sampling="grouped"))
