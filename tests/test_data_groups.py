"""What the distiller is told about groups: label noise, partial labels with K-means imputation."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cobra_lab.data import load
from cobra_lab.data.groups import add_group_noise, impute_groups
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


def test_imputation_keeps_known_labels() -> None:
    x = torch.randint(0, 256, (400, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    groups = torch.arange(4).repeat(100)
    x[:, 0] = (groups * 60).to(torch.uint8)[:, None, None]  # red channel encodes the group
    known = torch.zeros(400, dtype=torch.bool)
    known[::5] = True
    out = impute_groups(x, groups, known, 4)
    assert torch.equal(out[known], groups[known])
    assert (out == groups).float().mean() > 0.95


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


def test_partial_labels_cfmnist_bg(cfmnist_bg_partial) -> None:
    """Measured: 99.9-100% of train groups right at eta = 0.25 (the background colour dominates pooled pixels)."""
    train = cfmnist_bg_partial.train
    assert (train.a_observed == train.a).float().mean() > 0.98
    assert cfmnist_bg_partial.describe()["train"].get("observed_group_accuracy", 1.0) > 0.98
    assert cfmnist_bg_partial.params["known_groups"] == 0.25
