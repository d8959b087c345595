"""Natural groups, as a user's own data gives them: each class's largest group, the SKEW each class has, and a
train split subsampled to a chosen SKEW (so a SKEW sweep runs on natural data where its groups allow it)."""
from __future__ import annotations

import math

import torch

from ..errors import UserError
from ..sampling import stratified_quota


def cell_counts(y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int) -> torch.Tensor:
    """Images per (class, group) as a [C, G] int64 table."""
    return torch.bincount(y * num_groups + a, minlength=num_classes * num_groups).view(num_classes, num_groups)


def largest_groups(counts: torch.Tensor) -> torch.Tensor:
    """Each class's largest group (the first on ties): its natural majority. counts: [C, G] -> [C]."""
    return counts.argmax(1)


def class_skews(counts: torch.Tensor) -> torch.Tensor:
    """Each class's share in its largest group, the SKEW it has (0 for an empty class). counts: [C, G] -> [C]."""
    return counts.max(1).values / counts.sum(1).clamp(min=1)


def highest_skew(counts: torch.Tensor, majority: torch.Tensor) -> float:
    """The highest SKEW every class reaches while keeping an image of each group it has: a class with N images in
    its majority group and k other groups gets there with one image per other group, N / (N + k)."""
    others = (counts > 0).sum(1) - 1  # [C]
    held = counts.gather(1, majority[:, None]).squeeze(1)  # [C]
    return float((held / (held + others)).min())


def check_reachable(counts: torch.Tensor, majority: torch.Tensor, skew: float, name: str) -> None:
    """A one-line UserError, saying the highest SKEW there is, when ``skew`` would empty a group of some class."""
    top = highest_skew(counts, majority)
    if skew > top:
        raise UserError(f"skew {skew:g} is out of reach of {name}: keeping an image of every group of every class, "
                        f"its train split reaches skew {top:.4f} at most; use skew <= {math.floor(top * 100) / 100:g}")


def _kept_counts(row: torch.Tensor, major: int, skew: float) -> torch.Tensor:
    """Images kept per group of one class at ``skew``: as many as possible with the majority group holding that
    share (to the nearest image), the others spread as evenly as they allow. row: [G] -> [G]."""
    minority = row.clone()
    minority[major] = 0
    held, others = int(row[major]), int(minority.sum())
    wanted = round(held * (1 - skew) / skew)  # the other groups' total beside every majority image
    if wanted <= others:
        kept = stratified_quota(minority, wanted)
        kept[major] = held
    else:  # too few others: keep them all and as many majority images as the skew allows
        kept = minority
        kept[major] = min(held, round(others * skew / (1 - skew)))
    return kept


def subsample(y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int, skew: float,
              majority: torch.Tensor, gen: torch.Generator, name: str) -> torch.Tensor:
    """Indices of a subsample in which each class holds ``skew`` of its images in its ``majority`` group and the
    rest spread as evenly as its other groups allow, keeping as many images as that permits (random ones, drawn
    with ``gen``); a SKEW that would empty a group of some class is a one-line UserError saying the highest."""
    counts = cell_counts(y, a, num_classes, num_groups)  # [C, G]
    check_reachable(counts, majority, skew, name)
    kept = []
    for k in range(num_classes):
        quota = _kept_counts(counts[k], int(majority[k]), skew)  # [G]
        for g in range(num_groups):
            members = ((y == k) & (a == g)).nonzero().squeeze(1)
            kept.append(members[torch.randperm(len(members), generator=gen)[:int(quota[g])]])
    return torch.cat(kept).sort().values
