"""``render: shared`` (the paper's GAP construction): identical groups at GAP 0, the cumulative ladder above it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cobra_lab.data import bias, load
from cobra_lab.data.seeding import generator
from cobra_lab.data.types import Split
from cobra_lab.errors import UserError
from cobra_lab.evaluate import test_subset as subset_of_test


def as_uint8(data, split: Split) -> torch.Tensor:
    return (data.denormalize(split.x) * 255).round().to(torch.uint8)  # [N, 3, H, W]


def test_gap_zero_gives_identical_groups(isolated_data_root: Path) -> None:
    data = load("cdigits_bg", render="shared")
    groups = data.num_groups
    size = bias.every_group_size(data.test.y, data.test.a)
    assert size is not None and size * groups == len(data.test.y)
    blocks = data.test.x.view(groups, size, *data.test.x.shape[1:])  # [G, N, 3, H, W]
    assert all(torch.equal(blocks[0], blocks[g]) for g in range(1, groups))  # each group's test = the same images
    counts = data.test.counts(10, 10)  # [C, G]
    assert torch.equal(counts, counts[:, :1].expand(10, 10))  # every class alike in every group
    background = data.train.x[:, :, 0, 0]  # [N, 3]: the padding corner, the painted colour
    assert torch.equal(background, background[:1].expand_as(background))  # every train image painted alike
    assert torch.equal(data.train.a, load("cdigits_bg").train.a)  # groups drawn and skewed as the clean render's


@pytest.mark.parametrize("alpha", [1, 2, 3, 4])
def test_each_level_adds_the_cumulative_ladder_to_minority_images(isolated_data_root: Path, alpha: int) -> None:
    plain, corrupted = load("cdigits_bg", render="shared"), load("cdigits_bg", render="shared", gap=alpha)
    minority = plain.train.a != plain.train.y  # [N]: cdigits majority colour k for class k
    before, after = as_uint8(plain, plain.train), as_uint8(corrupted, corrupted.train)
    assert torch.equal(after[~minority], before[~minority])  # majority images untouched
    expected = bias.apply_gap(before[minority], alpha, generator(0, "gap"))  # steps 1..alpha in order
    assert torch.equal(after[minority], expected)


def test_test_subset_keeps_the_same_images_in_every_group(isolated_data_root: Path) -> None:
    test = load("cdigits_bg", render="shared").test
    part = subset_of_test(test, 200, seed=3)
    size = bias.every_group_size(part.y, part.a)
    assert size is not None and len(part.y) == 200
    blocks = part.x.view(10, size, *part.x.shape[1:])  # [G, n, 3, H, W]
    assert all(torch.equal(blocks[0], blocks[g]) for g in range(1, 10))


def test_shared_render_needs_designated_groups(isolated_data_root: Path) -> None:
    with pytest.raises(UserError, match="utkface has natural groups, painted by its data; render=shared applies "
                                        "to cdigits_bg"):
        load("utkface", render="shared")
