"""Random data shaped like the paper's colour benchmarks, with G skewed groups, for timing steps on any machine."""
from __future__ import annotations

import torch

from ..data.types import GroupedData, Split

CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
SKEW = 0.9  # share of each class in its majority group
RANDOM = "random"  # the benchmarks' name for these images, beside the registered datasets' names


def skewed_groups(images_per_class: int, groups: int) -> torch.Tensor:
    """Group of each image [CLASSES * n]: 90 % of class c in group c % G, the rest round-robin over the others."""
    majority = round(SKEW * images_per_class)
    blocks = []
    for label in range(CLASSES):
        home = label % groups
        others = torch.tensor([g for g in range(groups) if g != home])  # [G - 1]
        rest = others[torch.arange(images_per_class - majority) % others.numel()]
        blocks.append(torch.cat([torch.full((majority,), home), rest]))
    return torch.cat(blocks)


def make_data(groups: int, images_per_class: int, seed: int) -> GroupedData:
    """Random cfmnist-shaped data: 3x32x32 images, 10 classes, ``groups`` groups with a skewed assignment."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(CLASSES).repeat_interleave(images_per_class)  # [N]
    a = skewed_groups(images_per_class, groups)  # [N]
    x = torch.randn(y.numel(), *IMAGE_SHAPE, generator=generator)  # [N, 3, 32, 32]
    train = Split(x, y, a, a.clone())
    return GroupedData(RANDOM, train, train, [f"c{c}" for c in range(CLASSES)],
                       [f"g{g}" for g in range(groups)], (0.5,) * 3, (0.5,) * 3)
