"""What the distiller is told about groups: label noise, partial labels with K-means imputation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cobra_lab.cli import main
from cobra_lab.data import load
from cobra_lab.data.groups import IMPUTATIONS, add_group_noise, impute_groups
from cobra_lab.errors import UserError


def test_group_noise_exact_fraction_all_wrong() -> None:
    a = torch.randint(0, 10, (5000,), generator=torch.Generator().manual_seed(0))
    noisy = add_group_noise(a, 10, 0.2, torch.Generator().manual_seed(1))
    changed = noisy != a
    assert int(changed.sum()) == 1000  # exactly 20%, and every chosen label moved to a wrong group
    assert set(noisy[changed].tolist()) == set(range(10))  # wrong groups drawn across all groups
    assert torch.equal(add_group_noise(a, 10, 0.0, torch.Generator()), a)


def test_group_noise_through_load(isolated_data_root: Path) -> None:
    clean = load("cdigits_bg")
    noisy = load("cdigits_bg", group_noise=0.3)
    assert torch.equal(noisy.train.a, clean.train.a)  # the true group is never changed
    assert (noisy.train.a_observed != noisy.train.a).sum() == round(0.3 * len(noisy.train))
    assert torch.equal(noisy.test.a_observed, noisy.test.a)  # only train labels are noised
    assert noisy.describe()["train"]["observed_group_accuracy"] == pytest.approx(0.7)
    assert torch.equal(noisy.train.a_observed, load("cdigits_bg", group_noise=0.3).train.a_observed)
    assert not torch.equal(noisy.train.a_observed, load("cdigits_bg", group_noise=0.3, seed=1).train.a_observed)


@pytest.mark.parametrize("imputation", sorted(IMPUTATIONS))
def test_imputation_keeps_known_labels(imputation: str) -> None:
    x = torch.randint(0, 256, (400, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    groups = torch.arange(4).repeat(100)
    x[:, 0] = (groups * 60).to(torch.uint8)[:, None, None]  # red channel encodes the group
    known = torch.zeros(400, dtype=torch.bool)
    known[::5] = True
    out = impute_groups(x, groups, known, 4, imputation)
    assert torch.equal(out[known], groups[known])
    assert (out == groups).float().mean() > 0.95


def striped_images() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """400 images whose class is a strong one-pixel pattern (stripes or a checkerboard, gone once 4x4-pooled) and
    whose group a faint colour offset: uint8 images [400, 3, 32, 32], groups [400] and a known mask [400]."""
    rows, cols = torch.arange(32)[:, None], torch.arange(32)[None, :]
    patterns = torch.stack(torch.broadcast_tensors(rows % 2, cols % 2, (rows + cols) % 2, (rows + cols + 1) % 2))
    patterns = patterns.float()  # [4, 32, 32]
    classes, groups = torch.arange(4).repeat_interleave(100), torch.arange(4).repeat(100)  # [400] each
    noise = torch.randint(0, 4, (400, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    x = 90 + 120 * patterns[classes][:, None] + 12 * groups[:, None, None, None] + noise  # [400, 1, 32, 32], < 256
    known = torch.zeros(400, dtype=torch.bool)
    known[::5] = True  # every group and class has known members
    return x.expand(-1, 3, -1, -1).to(torch.uint8), groups, known


def test_the_papers_imputation_is_deterministic_and_clusters_what_dominates_the_pixels() -> None:
    x, groups, known = striped_images()
    pixels = impute_groups(x, groups, known, 4, "pixels_kmeans")
    assert torch.equal(pixels, impute_groups(x, groups, known, 4, "pixels_kmeans"))  # seeded K-means
    pooled = impute_groups(x, groups, known, 4, "pooled_kmeans")
    assert torch.equal(pixels[known], groups[known]) and torch.equal(pooled[known], groups[known])
    imputed = {name: float((out[~known] == groups[~known]).float().mean()) for name, out in
               (("pixels", pixels), ("pooled", pooled))}
    assert imputed["pooled"] > 0.95  # pooling erases the patterns: the colour offset is all that is left
    assert imputed["pixels"] < 0.5  # flattened, the patterns dominate: K = G clusters are the classes


def test_known_groups_one_is_a_no_op_and_zero_an_error(isolated_data_root: Path) -> None:
    data = load("cdigits_bg", known_groups=1.0)
    assert torch.equal(data.train.a_observed, data.train.a)
    assert "observed_group_accuracy" not in data.describe()["train"]
    with pytest.raises(UserError, match="known-groups must be > 0"):
        load("cdigits_bg", known_groups=0)


def test_partial_and_noise_together(isolated_data_root: Path) -> None:
    data = load("cdigits_bg", known_groups=0.5, group_noise=0.2)
    clean = load("cdigits_bg")
    assert torch.equal(data.train.a, clean.train.a)
    accuracy = data.describe()["train"]["observed_group_accuracy"]
    assert 0.5 < accuracy < 0.95  # imputation recovers most, but 20% of the known half were noised


def test_the_imputation_from_the_command_line(capsys: pytest.CaptureFixture, isolated_data_root: Path) -> None:
    def describe(*options: str) -> dict:
        assert main(["data", "describe", "cdigits_fg", "--known-groups", "0.5", "--json", *options]) == 0
        return json.loads(capsys.readouterr().out)

    default, pooled = describe(), describe("--imputation", "pooled_kmeans")
    assert default["params"]["imputation"] == "pixels_kmeans" and pooled["params"]["imputation"] == "pooled_kmeans"
    assert default["train"]["observed_group_accuracy"] != pooled["train"]["observed_group_accuracy"]
    assert describe("--imputation", "pixels_kmeans") == default
    assert main(["data", "describe", "cdigits_bg", "--known-groups", "0.5", "--imputation", "pixel_kmeans"]) == 2
    err = capsys.readouterr().err
    assert err == "cobra-lab: error: unknown imputation 'pixel_kmeans'; choose one of: pixels_kmeans, pooled_kmeans\n"


def test_partial_labels_cfmnist_bg(cfmnist_bg_partial) -> None:
    train = cfmnist_bg_partial.train
    assert cfmnist_bg_partial.params["known_groups"] == 0.25
    assert cfmnist_bg_partial.params["imputation"] == "pixels_kmeans"  # the paper's, by default
    assert cfmnist_bg_partial.describe()["train"]["observed_group_accuracy"] == \
        pytest.approx(float((train.a_observed == train.a).float().mean()))
