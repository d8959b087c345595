"""How the real statistic of a class is formed from its groups: vanilla, FairDD or COBRA.

A mode turns a table of real statistics ``phi[C, G, D]`` (one row per (class, group) cell, with the
number of real images behind each cell in ``counts[C, G]``) and the synthetic statistic ``syn[C, D]``
into one scalar loss, given the method's distance ``distance(u[..., D], v[..., D]) -> [...]``.
A mode never knows which method it serves.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from .barycenter import barycenter
from .registry import Registry

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MODES: Registry["Mode"] = Registry("mode")


def _weights(counts: torch.Tensor, uniform: bool) -> torch.Tensor:
    """Per-cell weights [C, G] summing to one per class: by counts, or uniform over the groups present."""
    mass = (counts > 0).to(torch.float32) if uniform else counts.to(torch.float32)
    return mass / mass.sum(dim=1, keepdim=True).clamp_min(1e-12)


@dataclass(frozen=True)
class Mode:
    """A fairness mode. ``stratified``: sample each class's real batch evenly over its groups."""

    name: str
    stratified: bool

    def target(self, phi: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """The class target [C, D] that the synthetic statistic is pulled to."""
        raise NotImplementedError(f"mode {self.name!r} has no single class target")

    def configured(self, distill: dict) -> "Mode":
        """This mode with the options it takes from a config's ``distill`` section (none by default)."""
        return self

    def loss(self, phi: torch.Tensor, counts: torch.Tensor, syn: torch.Tensor, distance: Distance) -> torch.Tensor:
        """Sum over classes of the distance between the synthetic statistic and the class target."""
        return distance(self.target(phi, counts), syn).sum()


class Vanilla(Mode):
    """The pooled class statistic: group statistics weighted by their share of the class batch."""

    def target(self, phi: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        return torch.einsum("cg,cgd->cd", _weights(counts, uniform=False).to(phi.dtype), phi)  # [C, D]


@dataclass(frozen=True)
class Cobra(Mode):
    """COBRA's barycenter of the statistics of the groups present: under the squared norm (default) their
    uniform mean, under another ``discrepancy`` (l1, l2, linf, cosine, huber) its L-BFGS minimiser."""

    discrepancy: str = "sq"

    def target(self, phi: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        if self.discrepancy == "sq":
            return torch.einsum("cg,cgd->cd", _weights(counts, uniform=True).to(phi.dtype), phi)  # [C, D]
        return barycenter(phi, counts > 0, self.discrepancy)  # [C, D]

    def configured(self, distill: dict) -> "Mode":
        return replace(self, discrepancy=distill.get("discrepancy", "sq"))


class FairDD(Mode):
    """FairDD: one distance per group present, summed (not averaged), as FairDD's code does."""

    def loss(self, phi: torch.Tensor, counts: torch.Tensor, syn: torch.Tensor, distance: Distance) -> torch.Tensor:
        per_cell = distance(phi, syn.unsqueeze(1).expand_as(phi))  # [C, G]
        return (per_cell * (counts > 0).to(per_cell.dtype)).sum()


MODES.register("vanilla")(lambda: Vanilla("vanilla", stratified=False))
MODES.register("fairdd")(lambda: FairDD("fairdd", stratified=True))
MODES.register("cobra")(lambda: Cobra("cobra", stratified=True))
