"""``load``: real Fashion-MNIST and digits proportions, parameters, validation, determinism, cache."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cobra_lab.data import DATASETS, GroupedData, Split, load, loader
from cobra_lab.errors import UserError


def check_colour_proportions(counts: list[list[int]], test_counts: list[list[int]], skew: float) -> None:
    """Train: majority colour k holds ``skew`` of class k, each minority colour (1 - skew)/9; test: balanced."""
    train = torch.tensor(counts, dtype=torch.float64)
    share = train / train.sum(1, keepdim=True)  # [C, G]
    off_diagonal = ~torch.eye(10, dtype=torch.bool)
    assert ((share.diag() - skew).abs() <= 0.005).all(), share.diag()
    assert ((share[off_diagonal] - (1 - skew) / 9).abs() <= 0.003).all()
    test = torch.tensor(test_counts, dtype=torch.float64)
    assert ((test - test.mean()).abs() <= 0.1 * test.mean()).all(), test


def test_cfmnist_bg_real_proportions(cfmnist_bg: GroupedData) -> None:
    info = cfmnist_bg.describe()
    assert info["train"]["size"] == 60000 and info["test"]["size"] == 10000
    check_colour_proportions(info["train"]["counts"], info["test"]["counts"], 0.9)
    assert cfmnist_bg.image_shape == (3, 32, 32)


def test_cdigits_bg_proportions(isolated_data_root: Path) -> None:
    data = load("cdigits_bg", skew=0.9)
    info = data.describe()
    check_colour_proportions(info["train"]["counts"], info["test"]["counts"], 0.9)
    assert torch.equal(data.train.counts(10, 10).diag(), torch.full((10,), 81))  # exact: 90 per class


def test_split_types_and_params(cfmnist_bg: GroupedData) -> None:
    for split in (cfmnist_bg.train, cfmnist_bg.test):
        assert isinstance(split, Split) and split.x.dtype == torch.float32 and split.x.dim() == 4
        assert all(t.dtype == torch.int64 for t in (split.y, split.a, split.a_observed))
        assert -1.0 <= float(split.x.min()) and float(split.x.max()) <= 1.0  # mean = std = 0.5
    assert cfmnist_bg.params == {"name": "cfmnist_bg", "skew": 0.9, "gap": 0, "semantic_gap": 0.0,
                                 "group_noise": 0.0, "known_groups": 1.0, "seed": 0, "render": "clean",
                                 "content": None, "imputation": None}  # every group label known: none imputed
    assert cfmnist_bg.class_names[0] == "T-shirt/top" and len(cfmnist_bg.group_names) == 10


def test_default_skew_and_dataset_names(isolated_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRA_LAB_DATASETS", str(isolated_data_root / "no-datasets-of-ones-own"))
    assert set(DATASETS.names()) == {"cmnist_fg", "cmnist_bg", "cfmnist_fg", "cfmnist_bg", "cifar10s", "cdigits_fg",
                             "cdigits_bg", "utkface", "bffhq"}
    assert load("cdigits_fg").params["skew"] == 0.9


def test_seeds(isolated_data_root: Path) -> None:
    first, again = load("cdigits_fg", seed=0), load("cdigits_fg", seed=0, cache=False)
    other = load("cdigits_fg", seed=3)
    assert torch.equal(first.train.x, again.train.x) and torch.equal(first.train.a, again.train.a)
    assert not torch.equal(first.train.a, other.train.a)


@pytest.mark.parametrize("options, message", [
    ({"skew": 0.05}, r"skew must be in \[0.1, 1\], got 0.05"),
    ({"gap": 5}, r"gap must be an integer in 0..4, got 5"),
    ({"gap": 1.5}, r"gap must be an integer in 0..4, got 1.5"),
    ({"group_noise": 1.5}, r"group-noise must be in \[0, 1\], got 1.5"),
    ({"known_groups": -0.1}, r"known-groups must be in \[0, 1\], got -0.1"),
    ({"semantic_gap": -1.0}, r"semantic-gap must be in \[0, inf\], got -1.0"),
    ({"seed": -1}, r"seed must be an integer >= 0"),
    ({"render": "refrence"}, r"unknown render 'refrence'; choose one of: clean, reference, shared"),
])
def test_bad_values(isolated_data_root: Path, options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load("cdigits_bg", **options)
    assert not (isolated_data_root / "cache").exists()  # nothing built


def test_reference_render_repaints_only_the_objects(isolated_data_root: Path) -> None:
    clean, reference = load("cdigits_bg"), load("cdigits_bg", render="reference")
    assert reference.params["render"] == "reference"
    for ours, theirs in ((clean.train, reference.train), (clean.test, reference.test)):
        assert torch.equal(ours.y, theirs.y) and torch.equal(ours.a, theirs.a)
        assert torch.equal(ours.x[:, :, :4], theirs.x[:, :, :4])  # the padding rows: background colour alike
        assert not torch.equal(ours.x, theirs.x)
    files = sorted(path.name for path in (isolated_data_root / "cache").glob("cdigits_bg-*.pt"))
    clean_key = {"name": "cdigits_bg", "skew": 0.9, "gap": 0, "seed": 0}  # the key before render existed
    assert len(files) == 2 and loader._cache_path(isolated_data_root, clean_key, "").name in files


def test_reference_render_only_where_it_differs(isolated_data_root: Path) -> None:
    with pytest.raises(UserError, match="cdigits_fg is painted as the reference code paints it already; "
                                        "render=reference applies to cdigits_bg, cfmnist_bg"):
        load("cdigits_fg", render="reference")
    assert not (isolated_data_root / "cache").exists()


def test_unknown_name_lists_names() -> None:
    with pytest.raises(UserError, match="choose one of: bffhq, cdigits_bg"):
        load("cmnist")


def test_cache_is_reused(isolated_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load("cdigits_bg", gap=3)
    files = list((isolated_data_root / "cache").glob("cdigits_bg-*.pt"))
    assert len(files) == 1

    def no_source(*args, **kwargs):
        raise AssertionError("the cached dataset was rebuilt")

    monkeypatch.setattr("cobra_lab.data.datasets.load_source", no_source)
    second = load("cdigits_bg", gap=3)
    for a, b in ((first.train, second.train), (first.test, second.test)):
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.a, b.a)
    stored = torch.load(files[0], weights_only=True)
    assert stored["train_x"].dtype == torch.uint8  # pixels, not floats


def test_corrupt_cache_is_rebuilt(isolated_data_root: Path) -> None:
    first = load("cdigits_fg")
    (path,) = (isolated_data_root / "cache").glob("cdigits_fg-*.pt")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    second = load("cdigits_fg")
    assert torch.equal(first.train.x, second.train.x)
    assert torch.load(path, weights_only=True)["train_x"].dtype == torch.uint8  # rewritten intact


def test_group_cache_is_separate_and_small(isolated_data_root: Path) -> None:
    load("cdigits_bg", known_groups=0.5)
    groups = list((isolated_data_root / "cache").glob("cdigits_bg-*-groups.pt"))
    assert len(groups) == 1 and groups[0].stat().st_size < 100_000
