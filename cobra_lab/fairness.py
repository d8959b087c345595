"""Accuracy, equalized-odds gaps and calibration error between groups from predictions (paper eq. 3, Appendix G.1)."""
from __future__ import annotations

import torch


def rate_table(pred: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int,
               positives: bool) -> torch.Tensor:
    """Per (class l, group g) rate [L, G]: TPR P(pred=l | y=l, a=g), or FPR P(pred=l | y!=l, a=g).

    Cells with no images are NaN (they take no part in the gaps).
    """
    classes = torch.arange(num_classes).view(-1, 1)  # [L, 1]
    relevant = (y.view(1, -1) == classes) if positives else (y.view(1, -1) != classes)  # [L, N]
    hit = relevant & (pred.view(1, -1) == classes)  # [L, N]
    group = torch.nn.functional.one_hot(a, num_groups).to(torch.float64)  # [N, G]
    totals = relevant.to(torch.float64) @ group  # [L, G]
    hits = hit.to(torch.float64) @ group
    return torch.where(totals > 0, hits / totals.clamp_min(1), torch.full_like(totals, float("nan")))


def gaps(rates: torch.Tensor) -> torch.Tensor:
    """Per class, the max minus min rate over the groups with images: [L, G] -> [L]."""
    high = torch.where(rates.isnan(), torch.full_like(rates, -torch.inf), rates).amax(1)
    low = torch.where(rates.isnan(), torch.full_like(rates, torch.inf), rates).amin(1)
    return torch.where(torch.isfinite(high), high - low, torch.zeros_like(high))


def fairness_metrics(pred: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_classes: int,
                     num_groups: int) -> dict:
    """Accuracy, EOD_max / EOD_mean (TPR gaps) and FPR gaps, all in percent, plus the TPR table."""
    tpr = rate_table(pred, y, a, num_classes, num_groups, positives=True)  # [L, G]
    fpr = rate_table(pred, y, a, num_classes, num_groups, positives=False)
    tpr_gap, fpr_gap = gaps(tpr), gaps(fpr)  # [L]
    return {
        "acc": 100.0 * float((pred == y).to(torch.float64).mean()),
        "eod_max": 100.0 * float(tpr_gap.max()),
        "eod_mean": 100.0 * float(tpr_gap.mean()),
        "fpr_gap_max": 100.0 * float(fpr_gap.max()),
        "fpr_gap_mean": 100.0 * float(fpr_gap.mean()),
        "tpr": (100.0 * tpr).tolist(),
    }


ECE_BINS = 15  # equal-width confidence bins of the expected calibration error (Guo et al., 2017)


def group_calibration_error(confidence: torch.Tensor, correct: torch.Tensor, a: torch.Tensor, num_groups: int,
                            bins: int = ECE_BINS) -> torch.Tensor:
    """Expected calibration error in percent of each group [G] (NaN for a group with no image): over ``bins``
    equal-width bins (lo, hi] of confidence [N], the image-weighted mean of |accuracy - mean confidence| of the
    group's images in each bin; ``correct`` [N] says which predictions were right."""
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1]  # [bins - 1] inner edges
    confidence = confidence.to(torch.float64)
    cell = a * bins + torch.bucketize(confidence, edges)  # [N] (group, bin), bins closed on the right
    size = num_groups * bins
    gap = (torch.bincount(cell, correct.to(torch.float64), size) - torch.bincount(cell, confidence, size)).abs()
    totals = torch.bincount(a, minlength=num_groups).to(torch.float64)  # [G]
    error = 100.0 * gap.view(num_groups, bins).sum(1) / totals.clamp_min(1)  # [G]
    return torch.where(totals > 0, error, torch.full_like(totals, float("nan")))
