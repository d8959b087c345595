"""Residual geometry (paper section 4, Theorem 4.1): class-conditional group statistics, each mode's class target,
the worst-case residual max_a ||Phi_a|y - m_y||^2 over the groups present, the angle condition (used by the live
explorer and by the residuals study, ``cobra_lab.studies.residuals``)."""
from __future__ import annotations

import pandas as pd
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


def fairdd_pull(phi: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Where FairDD pulls each class [C, D]: it has no single target, but its summed loss sum_a ||Phi_a - s||^2 over
    the groups present is smallest where the pulls toward the groups cancel, their plain mean (COBRA's point)."""
    present = (counts > 0).to(phi.dtype)  # [C, G]
    return torch.einsum("cg,cgd->cd", present, phi) / present.sum(1, keepdim=True).clamp_min(1)


def worst_case_residual(phi: torch.Tensor, counts: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """max over the groups present of ||phi[c, a] - target[c]||^2, per class [C]."""
    residual = (phi - target.unsqueeze(1)).pow(2).sum(-1)  # [C, G]
    return residual.masked_fill(counts == 0, float("-inf")).max(dim=1).values


def angle_condition(phi: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Theorem 4.1's condition per class: <Delta^C_a+, s> with a+ the group of COBRA's worst residual and
    s = m_van - m_cobra, and whether it is <= 0 (then COBRA's worst case is at most vanilla's). [C], [C] bool."""
    goals = targets(phi, counts)
    delta = phi - goals["cobra"].unsqueeze(1)  # [C, G, D]
    residual = delta.pow(2).sum(-1).masked_fill(counts == 0, float("-inf"))  # [C, G]
    worst = residual.argmax(dim=1)  # [C]
    shift = goals["vanilla"] - goals["cobra"]  # [C, D]
    inner = (delta[torch.arange(phi.shape[0]), worst] * shift).sum(-1)  # [C]
    return inner, inner <= 0


def residual_table(phi: torch.Tensor, counts: torch.Tensor, class_names: list[str]) -> pd.DataFrame:
    """Per class: each target's worst-case residual, the angle condition and whether COBRA's is the smaller."""
    goals = targets(phi, counts)
    vanilla = worst_case_residual(phi, counts, goals["vanilla"])
    cobra = worst_case_residual(phi, counts, goals["cobra"])
    inner, holds = angle_condition(phi, counts)
    return pd.DataFrame({"class": class_names, "maxres_vanilla": vanilla.tolist(), "maxres_cobra": cobra.tolist(),
                         "angle_inner": inner.tolist(), "condition_holds": holds.tolist(),
                         "cobra_below_vanilla": (cobra <= vanilla).tolist()})
