"""Residual geometry (paper section 4): class-conditional group statistics, each mode's class target, and the
worst-case residual max_a ||Phi_a|y - m_y||^2 over the groups present."""
from __future__ import annotations

import torch

from .modes import MODES

TARGET_MODES = ("vanilla", "cobra")  # the modes with one class target (FairDD matches each group separately)


def group_means(feats: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean feature per (class, group) [C, G, D] (zero where empty) and the images behind each [C, G]."""
    cell = y * num_groups + a  # [N]
    sums = torch.zeros(num_classes * num_groups, feats.shape[1], dtype=feats.dtype).index_add_(0, cell, feats)
    counts = torch.bincount(cell, minlength=num_classes * num_groups)  # [C * G]
    means = sums / counts.clamp_min(1).unsqueeze(1).to(feats.dtype)
    return means.view(num_classes, num_groups, -1), counts.view(num_classes, num_groups)


def targets(phi: torch.Tensor, counts: torch.Tensor) -> dict[str, torch.Tensor]:
    """The class target [C, D] of each single-target mode: vanilla (count-weighted mixture), cobra (barycenter)."""
    return {name: MODES.build(name).target(phi, counts) for name in TARGET_MODES}


def worst_case_residual(phi: torch.Tensor, counts: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """max over the groups present of ||phi[c, a] - target[c]||^2, per class [C]."""
    residual = (phi - target.unsqueeze(1)).pow(2).sum(-1)  # [C, G]
    return residual.masked_fill(counts == 0, float("-inf")).max(dim=1).values
