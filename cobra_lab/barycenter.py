"""Barycenters of the group statistics of each class under a discrepancy (paper section 5.5, Appendix D):
m_c = argmin_m sum over the groups a present of d(phi[c, a], m). The squared norm has the closed form (the
mean); every other discrepancy is solved by L-BFGS started at the mean, batched over classes."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

SMOOTH = 1e-14  # keeps |x| and ||x|| differentiable at 0 (|x| ~ sqrt(x^2 + SMOOTH)), in float64
HUBER_DELTA = 1.0

Discrepancy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (phi [C, G, D], m [C, 1, D]) -> [C, G]


def _l1(phi: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return ((phi - m).pow(2) + SMOOTH).sqrt().sum(-1)


def _l2(phi: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return ((phi - m).pow(2).sum(-1) + SMOOTH).sqrt()


def _linf(phi: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (phi - m).abs().amax(-1)


def _cosine(phi: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return 1 - F.cosine_similarity(phi, m.expand_as(phi), dim=-1, eps=1e-12)


def _huber(phi: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return F.huber_loss(phi, m.expand_as(phi), reduction="none", delta=HUBER_DELTA).sum(-1)


DISCREPANCIES: dict[str, Discrepancy | None] = {"sq": None, "l1": _l1, "l2": _l2, "linf": _linf,
                                                  "cosine": _cosine, "huber": _huber}


def masked_mean(phi: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """The uniform mean [C, D] of phi [C, G, D] over the groups present [C, G] (bool)."""
    weights = present.to(phi.dtype)
    return torch.einsum("cg,cgd->cd", weights / weights.sum(1, keepdim=True).clamp_min(1), phi)


def objective(phi: torch.Tensor, present: torch.Tensor, m: torch.Tensor, discrepancy: str) -> torch.Tensor:
    """sum over classes and present groups of d(phi[c, a], m[c]); m: [C, D]."""
    if discrepancy == "sq":
        per_cell = (phi - m.unsqueeze(1)).pow(2).sum(-1)
    else:
        per_cell = DISCREPANCIES[discrepancy](phi, m.unsqueeze(1))  # [C, G]
    return (per_cell * present.to(per_cell.dtype)).sum()


def barycenter(phi: torch.Tensor, present: torch.Tensor, discrepancy: str = "sq", iterations: int = 500
               ) -> torch.Tensor:
    """The barycenter [C, D] of each class's present group statistics phi [C, G, D] under ``discrepancy``."""
    start = masked_mean(phi.detach(), present)  # [C, D]
    if discrepancy == "sq":
        return start
    phi = phi.detach().double()
    m = start.double().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([m], lr=1, max_iter=iterations, tolerance_grad=1e-14, tolerance_change=1e-18,
                                  history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective(phi, present, m, discrepancy)
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    # L-BFGS's line search can break down on a non-smooth objective (linf gave NaN at a quick run's 27th step):
    # a class whose solution is not finite keeps its start, the mean
    solved = m.detach()
    return torch.where(torch.isfinite(solved).all(dim=1, keepdim=True), solved, start.double()).to(start.dtype)
