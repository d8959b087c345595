"""A named dataset's real training images for timing steps: its biased train split as a run loads it, a few
images per class, its groups merged down to G where the benchmark asks for fewer than it has."""
from __future__ import annotations

import torch

from ..data import load
from ..data.datasets import DATASETS
from ..data.types import GroupedData, Split
from ..errors import UserError


def natural_groups(dataset: str) -> int:
    """The number of groups ``dataset`` has (from its recipe: nothing is loaded)."""
    return DATASETS.build(dataset).num_groups


def real_batches(dataset: str, groups: int | None, images_per_class: int, seed: int) -> GroupedData:
    """``images_per_class`` train images of each class of ``dataset`` drawn at random (seeded), with group g
    relabelled g mod ``groups`` where ``groups`` is below the dataset's own count (None: its own count); the
    same images serve as train and test split (only steps are timed)."""
    data = load(dataset, seed=seed)
    groups = groups or data.num_groups
    if groups > data.num_groups:
        raise UserError(f"{dataset} has {data.num_groups} groups; the benchmark cannot time G={groups} on it")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in range(data.num_classes):
        members = (data.train.y == label).nonzero().squeeze(1)  # [n_c]
        if members.numel() < images_per_class:
            raise UserError(f"{dataset}'s class {data.class_names[label]!r} has {members.numel()} train images; "
                            f"ask for at most that many images per class")
        chosen.append(members[torch.randperm(members.numel(), generator=generator)[:images_per_class]])
    keep = torch.cat(chosen)  # [classes * images_per_class]
    train = Split(data.train.x[keep], data.train.y[keep], data.train.a[keep] % groups,
                  data.train.a_observed[keep] % groups)
    names = ["+".join(data.group_names[g::groups]) for g in range(groups)]
    return GroupedData(dataset, train, train, data.class_names, names, data.mean, data.std)
