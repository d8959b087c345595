"""Biased builders: rendering, group assignment, GAP ladder, semantic GAP, and the built synthetic sets."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from cobra_lab.data import bias, load
from cobra_lab.data.sources import load_source
from cobra_lab.errors import UserError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_palette_matches_reference() -> None:
    assert bias.PALETTE.tolist() == [[255, 0, 0], [255, 128, 0], [255, 255, 0], [255, 255, 128], [0, 255, 0],
                                     [0, 255, 255], [0, 0, 255], [128, 0, 255], [255, 0, 255], [255, 255, 255]]


def test_renderers_pad_top_left_and_colour() -> None:
    gray = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    gray[:, :, 10, 10] = 255  # a bright object pixel
    gray[:, :, 11, 11] = 100  # a dim object pixel (< 128)
    a = torch.tensor([0, 6])  # red, blue
    colour = bias.PALETTE[a].view(2, 3)
    fg = bias.fg_binary(gray, a)
    assert fg.shape == (2, 3, 32, 32)
    assert torch.equal(fg[:, :, 14, 14], colour)  # row/col 10 of the 28x28 image is row/col 14 of the canvas
    assert fg[:, :, 15, 15].sum() == 0 and fg[:, :, :4].sum() == 0  # dim pixel below mask; padding black
    bg = bias.bg_binary(gray, a)
    assert bg[:, :, 14, 14].sum() == 0 and torch.equal(bg[:, :, 15, 15], colour)
    assert torch.equal(bg[:, :, 0, 0], colour)  # the padding is background too
    fgc = bias.fg_continuous(gray, a)
    assert torch.equal(fgc[:, :, 14, 14], colour) and fgc[0, 0, 15, 15] == round(255 * 100 / 255)
    bgc = bias.bg_continuous(gray, a)
    assert torch.equal(bgc[:, :, 0, 0], colour) and bgc[:, :, 14, 14].sum() == 0
    assert bgc[0, 0, 15, 15] == round(255 * 155 / 255)  # colour * (1 - v/255), v = 100, red channel


def test_background_as_the_reference_code_paints_it() -> None:
    """The overflowing arithmetic wraps modulo 256: the background is the colour, a white object pixel (1, 1, 1)
    whatever the colour, a mid-gray one on red (255, 128, 128)."""
    gray = torch.zeros(10, 1, 28, 28, dtype=torch.uint8)
    gray[:, :, 10, 10] = 255
    gray[:, :, 11, 11] = 128
    a = torch.arange(10)
    out = bias.bg_continuous_as_coded(gray, a)  # [10, 3, 32, 32]
    assert out.shape == (10, 3, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out[:, :, 0, 0], bias.PALETTE) and torch.equal(out[:, :, 20, 20], bias.PALETTE)
    assert (out[:, :, 14, 14] == 1).all()
    assert out[0, :, 15, 15].tolist() == [255, 128, 128]
    clean = bias.bg_continuous(gray, a)
    assert torch.equal(clean[:, :, 0, 0], out[:, :, 0, 0]) and not torch.equal(clean[:, :, 15, 15], out[:, :, 15, 15])


def test_grayscale_matches_pil() -> None:
    rgb = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=gen())
    ours = bias.grayscale(rgb)
    assert torch.equal(ours[:, 0], ours[:, 1]) and torch.equal(ours[:, 1], ours[:, 2])
    for i in range(4):
        pil = np.asarray(Image.fromarray(rgb[i].permute(1, 2, 0).numpy()).convert("L"))
        assert np.array_equal(ours[i, 0].numpy(), pil)


def test_skewed_groups_counts() -> None:
    y = torch.arange(10).repeat_interleave(1000)
    a = bias.skewed_groups(y, torch.arange(10), 10, 0.9, gen())
    counts = torch.bincount(y * 10 + a, minlength=100).view(10, 10)
    assert counts.diag().tolist() == [900] * 10
    minority = counts[~torch.eye(10, dtype=torch.bool)].view(10, 9)
    assert (minority.max(1).values - minority.min(1).values).max() <= 1 and minority.sum(1).tolist() == [100] * 10
    # 100 = 9 * 11 + 1: which colour gets the extra image is random, so it varies across classes
    assert len(set(minority.argmax(1).tolist())) > 1


def test_skewed_groups_custom_majority_and_bounds() -> None:
    y = torch.arange(10).repeat_interleave(50)
    majority = torch.tensor([0] * 5 + [1] * 5)
    a = bias.skewed_groups(y, majority, 2, 0.9, gen())
    counts = torch.bincount(y * 2 + a, minlength=20).view(10, 2)
    assert counts[:5].tolist() == [[45, 5]] * 5 and counts[5:].tolist() == [[5, 45]] * 5
    uniform = bias.skewed_groups(y, majority, 2, 0.5, gen())
    assert torch.bincount(y * 2 + uniform, minlength=20).tolist() == [25] * 20
    full = bias.skewed_groups(y, majority, 2, 1.0, gen())
    assert torch.equal(full, majority[y])


def test_balanced_groups_differ_by_at_most_one() -> None:
    y = torch.arange(3).repeat_interleave(torch.tensor([1003, 998, 10]))
    a = bias.balanced_groups(y, 3, 10, gen())
    counts = torch.bincount(y * 10 + a, minlength=30).view(3, 10)
    assert (counts.max(1).values - counts.min(1).values).max() <= 1
    assert counts.sum(1).tolist() == [1003, 998, 10]


def test_every_group_duplicates() -> None:
    x = torch.arange(6, dtype=torch.uint8).view(3, 1, 1, 2)
    xs, ys, a = bias.every_group(x, torch.tensor([0, 1, 2]), 2)
    assert a.tolist() == [0, 0, 0, 1, 1, 1] and ys.tolist() == [0, 1, 2, 0, 1, 2]
    assert torch.equal(xs[:3], x) and torch.equal(xs[3:], x)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=gen(3))  # [6, 3, 32, 32]


def test_gap_zero_is_identity(images: torch.Tensor) -> None:
    assert torch.equal(bias.apply_gap(images, 0, gen()), images)


def test_gap_level_1_permutes_channels(images: torch.Tensor) -> None:
    out = bias.apply_gap(images, 1, gen())
    assert torch.equal(out[:, 0], images[:, 1]) and torch.equal(out[:, 1], images[:, 2])
    assert torch.equal(out[:, 2], images[:, 0])


def test_gap_level_2_adds_diagonal(images: torch.Tensor) -> None:
    one, two = bias.apply_gap(images, 1, gen()), bias.apply_gap(images, 2, gen())
    diagonal = torch.eye(32, dtype=torch.bool)
    assert (two[:, :, diagonal] == bias.LINE_VALUE).all()
    assert torch.equal(two[:, :, ~diagonal], one[:, :, ~diagonal])  # level 1 kept everywhere else


def test_gap_level_3_adds_noise_and_anti_diagonal(images: torch.Tensor) -> None:
    two, three = bias.apply_gap(images, 2, gen()), bias.apply_gap(images, 3, gen())
    diagonal = torch.eye(32, dtype=torch.bool)
    anti = diagonal.flip(1)
    assert (three[:, :, anti] == bias.LINE_VALUE).all()
    rest = ~(diagonal | anti)
    diff = three[:, :, rest].float() - two[:, :, rest].float()
    assert 10 < diff.abs().mean() < 25  # N(0, 25) noise, clipped at 0 / 255
    assert diff.mean().abs() < 2
    assert (three[:, :, diagonal & ~anti] >= 255 - 4 * bias.NOISE_SIGMA).float().mean() > 0.95  # line kept, noisy


def test_gap_level_4_rotates_and_inverts(images: torch.Tensor) -> None:
    three = bias.apply_gap(images, 3, gen())
    four = bias.apply_gap(images, 4, gen())
    undone = torch.rot90(255 - four.float(), k=1, dims=(2, 3))  # invert back, rotate 90 degrees back
    assert (undone - three.float()).abs().mean() < 25  # level 3 under fresh noise
    assert (four.float() - three.float()).abs().mean() > 60  # unaligned: clearly a different image


def test_gap_levels_nest_structurally(images: torch.Tensor) -> None:
    for alpha in range(1, 5):
        shared = gen(5)
        lower = bias.apply_gap(images, alpha - 1, shared)
        assert torch.equal(bias.GAP_STEPS[alpha - 1](lower, shared), bias.apply_gap(images, alpha, gen(5)))


def test_semantic_offsets_are_unit_hue_shifts() -> None:
    for groups in (2, 10):
        v = bias.semantic_offsets(groups)
        assert v.shape == (groups, 3)
        assert torch.allclose(v.norm(dim=1), torch.full((groups,), bias.SEMANTIC_STEP))
        assert torch.allclose(v.sum(1), torch.zeros(groups), atol=1e-6)
        assert torch.unique(v, dim=0).shape[0] == groups
    assert torch.allclose(bias.semantic_offsets(2)[0], -bias.semantic_offsets(2)[1])


def test_gap_on_built_set_touches_only_minority(isolated_data_root: Path) -> None:
    clean = load("cdigits_fg", gap=0, semantic_gap=0.0)
    for split in ("train", "test"):
        part, ref = getattr(load("cdigits_fg", gap=2), split), getattr(clean, split)
        minority = part.a != part.y
        assert torch.equal(part.x[~minority], ref.x[~minority])
        assert not torch.equal(part.x[minority], ref.x[minority])
        assert (part.x[minority][:, :, torch.arange(32), torch.arange(32)] == 1.0).all()  # 255 -> +1 normalised


def test_semantic_gap_adds_the_group_offset(isolated_data_root: Path) -> None:
    clean, shifted = load("cdigits_bg"), load("cdigits_bg", semantic_gap=2)
    v = bias.semantic_offsets(10)
    for part, ref in ((shifted.train, clean.train), (shifted.test, clean.test)):
        minority = part.a != part.y
        delta = (part.x - ref.x).mean(dim=(2, 3))  # [N, 3]: constant per image and channel
        assert torch.allclose(delta[minority], 2 * v[part.a[minority]], atol=1e-5)
        assert delta[~minority].abs().max() == 0


def test_cmnist_renders_binary(tiny_mnist_root: Path) -> None:
    source = load_source("mnist")
    for name, digit_colour in (("cmnist_fg", True), ("cmnist_bg", False)):
        data = load(name, skew=0.9)
        assert torch.bincount(data.train.y).tolist() == [20] * 10
        counts = data.train.counts(10, 10)
        assert counts.diag().tolist() == [18] * 10  # round(20 * 0.9) in the majority colour
        pixels = ((data.train.x * 0.5 + 0.5) * 255).round().to(torch.uint8)  # [N, 3, 32, 32]
        colours = bias.PALETTE[data.train.a][:, :, None, None]
        digit = torch.nn.functional.pad(source.train_x, bias.PAD) >= 128  # [N, 1, 32, 32]
        painted = digit if digit_colour else ~digit
        assert torch.equal(pixels, colours * painted)


def test_cifar10s_groups(tiny_cifar_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CIFAR10._check_integrity`` / ``_load_meta`` are patched: the tiny pickles lack the real md5 sums."""
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_load_meta", lambda self: None)
    data = load("cifar10s", skew=0.9)
    assert data.train.counts(10, 2).tolist() == [[9, 1]] * 5 + [[1, 9]] * 5
    assert data.test.counts(10, 2).tolist() == [[5, 5]] * 10  # every test image once gray, once in colour
    gray = data.denormalize(data.test.x[data.test.a == 0])  # [50, 3, 32, 32] in [0, 1]
    assert torch.allclose(gray[:, 0], gray[:, 1], atol=1e-5) and torch.allclose(gray[:, 1], gray[:, 2], atol=1e-5)
    source = load_source("cifar10")
    colour = data.denormalize(data.test.x[data.test.a == 1])
    assert torch.allclose(colour, source.test_x.float() / 255, atol=1e-5)
    with pytest.raises(UserError, match=r"skew must be in \[0.5, 1\]"):
        load("cifar10s", skew=0.3)
