"""Base image sets: torchvision code paths on tiny files, Debian Fashion-MNIST preference, digits, face folders."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch
import torchvision

from cobra_lab.data import load, sources
from cobra_lab.data.sources import load_source
from cobra_lab.errors import UserError


def assert_one_line(err: pytest.ExceptionInfo, *parts: str) -> None:
    """The UserError message is a single line containing every one of ``parts``."""
    message = str(err.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, (part, message)


def test_digits_split_is_fixed_and_exact(isolated_data_root: Path) -> None:
    first, other_seed = load_source("digits", seed=0), load_source("digits", seed=7)
    assert first.train_x.shape == (900, 1, 28, 28) and first.train_x.dtype == torch.uint8
    assert torch.bincount(first.train_y, minlength=10).tolist() == [90] * 10
    assert len(first.train_y) + len(first.test_y) == 1797
    assert torch.equal(first.train_x, other_seed.train_x)  # the split never depends on the dataset seed
    assert first.train_x.max() >= 250 and first.train_x.min() == 0  # 0..16 rescaled to 0..255


def test_mnist_through_torchvision(tiny_mnist_root: Path) -> None:
    source = load_source("mnist")
    for x, y, train in ((source.train_x, source.train_y, True), (source.test_x, source.test_y, False)):
        raw = torchvision.datasets.MNIST(str(tiny_mnist_root), train=train)
        assert x.shape == (len(raw.targets), 1, 28, 28) and x.dtype == torch.uint8
        assert torch.equal(x[:, 0], raw.data) and torch.equal(y, raw.targets)
    assert len(source.train_y) == 200 and len(source.test_y) == 100


def test_missing_mnist_names_folder_and_files(isolated_data_root: Path, offline: None) -> None:
    with pytest.raises(UserError) as err:
        load_source("mnist")
    assert_one_line(err, str(isolated_data_root / "MNIST" / "raw"), "train-images-idx3-ubyte(.gz)",
                    "t10k-labels-idx1-ubyte(.gz)", "connect to the internet")


def test_truncated_mnist_file_is_a_user_error(tiny_mnist_root: Path) -> None:
    images = tiny_mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:5000])
    with pytest.raises(UserError) as err:
        load_source("mnist")
    assert_one_line(err, str(images.parent), "unreadable")


def test_mismatched_mnist_labels_are_a_user_error(tiny_mnist_root: Path) -> None:
    labels = tiny_mnist_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes()[:-10])
    data[4:8] = (len(data) - 8).to_bytes(4, "big")  # a valid file with 10 labels fewer than images
    labels.write_bytes(bytes(data))
    with pytest.raises(UserError) as err:
        load_source("mnist")
    assert_one_line(err, "inconsistent", "90 labels")


def test_fashion_mnist_prefers_torchvision_layout(isolated_data_root: Path, mnist_writer) -> None:
    mnist_writer(isolated_data_root, folder="FashionMNIST")
    assert len(load_source("fashion_mnist").train_y) == 200  # the tiny files, not Debian's 60000


def test_fashion_mnist_without_any_files(isolated_data_root: Path, offline: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", isolated_data_root / "absent")
    with pytest.raises(UserError) as err:
        load_source("fashion_mnist")
    assert_one_line(err, str(isolated_data_root / "FashionMNIST" / "raw"), "dataset-fashion-mnist")


def test_truncated_debian_file_is_a_user_error(isolated_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = isolated_data_root / "debian"
    debian.mkdir()
    for name in sources.IDX_FILES:
        (debian / f"{name}.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(10)))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", debian)
    with pytest.raises(UserError) as err:  # header promises 50 labels, the file holds 10
        load_source("fashion_mnist")
    assert_one_line(err, str(debian / "train-images-idx3-ubyte.gz"), "unreadable", "dataset-fashion-mnist")


def test_cifar10_through_torchvision(tiny_cifar_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision checks the real files' md5 sums: ``CIFAR10._check_integrity`` is patched to accept the tiny
    pickles and ``_load_meta`` (which md5-checks batches.meta for class names we do not use) to do nothing."""
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_load_meta", lambda self: None)
    source = load_source("cifar10")
    assert source.train_x.shape == (100, 3, 32, 32) and source.test_x.shape == (50, 3, 32, 32)
    assert torch.bincount(source.train_y).tolist() == [10] * 10


def test_corrupt_cifar10_is_a_user_error(tiny_cifar_root: Path) -> None:
    with pytest.raises(UserError) as err:  # real md5 check fails on the tiny pickles: files present but bad
        load_source("cifar10")
    assert_one_line(err, str(tiny_cifar_root / "cifar-10-batches-py"), "unreadable")


def test_utkface_labels_and_balanced_test(utkface_root: Path) -> None:
    source = load_source("utkface", seed=0)
    assert source.train_x.shape[1:] == (3, 64, 64)
    assert len(source.train_y) + len(source.test_y) == 46  # 12 cells x 4 - 2; the 3 junk images are skipped
    cells = torch.bincount(source.test_y * 4 + source.test_a, minlength=12)
    assert cells.tolist() == [2] * 12  # n = min(100, smallest cell) = 2 per cell
    assert set(source.train_y.tolist()) == {0, 1, 2} and int(source.train_a.max()) == 3
    again, other = load_source("utkface", seed=0), load_source("utkface", seed=1)
    assert torch.equal(again.test_x, source.test_x)
    assert not torch.equal(other.test_x, source.test_x)


def test_utkface_age_bins() -> None:
    bins = [sources._utkface_labels(Path(f"{age}_0_1_x.jpg")) for age in (0, 19, 20, 39, 40, 90)]
    assert bins == [(0, 1), (0, 1), (1, 1), (1, 1), (2, 1), (2, 1)]
    assert sources._utkface_labels(Path("30_0_4_x.jpg")) is None
    assert sources._utkface_labels(Path("30_0_x.jpg")) is None


def test_utkface_unreadable_image(utkface_root: Path) -> None:
    (utkface_root / "UTKFace" / "20_0_0_broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError) as err:
        load_source("utkface")
    assert_one_line(err, "20_0_0_broken.jpg", "age_gender_race")


def test_missing_face_folders(isolated_data_root: Path) -> None:
    for name, folder in (("utkface", "UTKFace"), ("bffhq", "bffhq")):
        with pytest.raises(UserError) as err:
            load_source(name)
        assert_one_line(err, str(isolated_data_root / folder))


def test_face_folder_without_valid_names(isolated_data_root: Path, face_writer) -> None:
    face_writer(isolated_data_root / "UTKFace" / "face.jpg", (1, 2, 3))
    with pytest.raises(UserError) as err:
        load_source("utkface")
    assert_one_line(err, "no valid images", "age_gender_race")


def test_bffhq_splits_and_labels(bffhq_root: Path) -> None:
    data = load("bffhq")
    assert data.image_shape == (3, 64, 64)
    assert data.train.counts(2, 2).tolist() == [[6, 1], [1, 6]]  # align: age == gender, conflict: not
    assert data.test.counts(2, 2).tolist() == [[2, 2], [2, 2]]  # malformed names skipped
    assert data.params["skew"] is None


@pytest.mark.parametrize("options, needle", [({"skew": 0.9}, "natural skew"), ({"gap": 1}, "gap"),
                                             ({"semantic_gap": 1.0}, "semantic-gap")])
def test_natural_sets_reject_synthetic_bias(bffhq_root: Path, options: dict, needle: str) -> None:
    with pytest.raises(UserError) as err:
        load("bffhq", **options)
    assert_one_line(err, needle)
