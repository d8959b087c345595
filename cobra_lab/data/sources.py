"""Base image sets as uint8 pixels, before any bias: MNIST, Fashion-MNIST (torchvision or Debian's
files), CIFAR-10, scikit-learn's 8x8 digits, and the UTKFace / BFFHQ face folders."""
from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import UserError
from ..paths import repo_root
from ..registry import Registry
from .seeding import generator

REPO_DATA = repo_root() / "data"
# where Debian's dataset-fashion-mnist puts its files ($COBRA_LAB_DEBIAN_FASHION_MNIST elsewhere: tests hide it)
DEBIAN_FASHION_MNIST = Path(os.environ.get("COBRA_LAB_DEBIAN_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                 "batches.meta")
DIGITS_TRAIN_PER_CLASS = 90  # 81 majority + 9 minority images per class at skew 0.9, exactly
DIGITS_SPLIT_SEED = 0  # fixed, independent of the dataset seed: the digits split never changes
FACE_SIZE = 64
FACE_TEST_PER_CELL = 100
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
UTKFACE_CONVENTION = "images named age_gender_race_*.jpg (race 0-3; 4 is dropped)"
BFFHQ_CONVENTION = ("0.5pct/align/*/*, 0.5pct/conflict/*/* and test/* images named *_age_gender.png "
                    "(age 0 young / 1 old, gender 0 / 1)")


@dataclass
class Source:
    """One base image set: uint8 pixels and classes per split, plus natural groups for the face sets."""

    train_x: torch.Tensor  # [N, C, H, W] uint8
    train_y: torch.Tensor  # [N] int64
    test_x: torch.Tensor  # [M, C, H, W] uint8
    test_y: torch.Tensor  # [M] int64
    train_a: torch.Tensor | None = None  # [N] int64 natural group (faces only)
    test_a: torch.Tensor | None = None  # [M] int64 natural group (faces only)


SOURCES: Registry[Source] = Registry("source")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root``, else $COBRA_LAB_DATA, else ``<repo>/data``; one that is a file is a UserError."""
    folder = Path(root or os.environ.get("COBRA_LAB_DATA") or REPO_DATA).expanduser()
    if folder.exists() and not folder.is_dir():
        where = "--root" if root else "$COBRA_LAB_DATA" if os.environ.get("COBRA_LAB_DATA") else "the data folder"
        raise UserError(f"{where} {folder} is a file, not a folder")
    return folder


def load_source(name: str, root: str | os.PathLike | None = None, seed: int = 0) -> Source:
    """Build the base image set ``name`` from the data folder (``seed`` only picks the UTKFace test cells)."""
    return SOURCES.build(name, data_root(root), seed)


def _reason(err: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    lines = str(err).strip().splitlines()
    return lines[0][:160] if lines else type(err).__name__


def _torchvision_splits(cls: type, root: Path, folder: Path, required: Sequence[str], wanted: str,
                        label: str, hint: str = "") -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """Train and test sets of a torchvision dataset class; downloads when ``required`` files are absent."""
    missing = any(not (folder / name).is_file() for name in required)
    try:
        return cls(str(root), train=True, download=missing), cls(str(root), train=False, download=missing)
    except Exception as err:  # torchvision raises RuntimeError, URLError, AssertionError, pickle errors...
        if any(not (folder / name).is_file() for name in required):
            raise UserError(f"{label} files not found in {folder}; put {wanted} there "
                            f"or connect to the internet{hint}") from None
        raise UserError(f"{label} files in {folder} are unreadable ({_reason(err)}); "
                        f"replace them with intact copies of {wanted}") from None


def _checked(x: torch.Tensor, y: torch.Tensor, where: str) -> list[torch.Tensor]:
    """[x, y] if they hold the same, non-zero number of images, else a one-line UserError about ``where``."""
    if len(x) != len(y) or len(y) == 0:
        raise UserError(f"{where} are inconsistent ({len(x)} images, {len(y)} labels); replace them with intact copies")
    return [x, y]


def _as_source(train: torch.utils.data.Dataset, test: torch.utils.data.Dataset, folder: Path, label: str) -> Source:
    """uint8 [N, C, H, W] pixels and int64 labels out of torchvision's ``data`` / ``targets``."""
    tensors = []
    for split in (train, test):
        x = torch.as_tensor(np.asarray(split.data))  # [N, H, W] or [N, H, W, 3] uint8
        x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)  # [N, C, H, W]
        y = torch.as_tensor(np.asarray(split.targets), dtype=torch.int64)  # [N]
        tensors += _checked(x.contiguous(), y, f"{label} files in {folder}")
    return Source(*tensors)


def _idx_source(cls: type, root: Path, label: str, hint: str = "") -> Source:
    """An MNIST-style set through torchvision, from ``<root>/<ClassName>/raw``."""
    folder = root / cls.__name__ / "raw"
    wanted = ", ".join(f"{name}(.gz)" for name in IDX_FILES)
    train, test = _torchvision_splits(cls, root, folder, IDX_FILES, wanted, label, hint)
    return _as_source(train, test, folder, label)


def _read_idx_gz(path: Path) -> torch.Tensor:
    """The unsigned-byte array stored in a gzipped IDX file."""
    try:
        data = gzip.decompress(path.read_bytes())
        if data[:3] != b"\x00\x00\x08":
            raise ValueError("not an unsigned-byte IDX file")
        ndim = data[3]
        shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
        array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (OSError, EOFError, ValueError, IndexError) as err:
        raise UserError(f"{path} is unreadable ({_reason(err)}); reinstall the Debian package "
                        f"dataset-fashion-mnist") from None
    return torch.from_numpy(array.copy())


def _debian_fashion_mnist() -> Source:
    """Fashion-MNIST from the gzipped IDX files of Debian's dataset-fashion-mnist package."""
    train_x, train_y, test_x, test_y = (_read_idx_gz(DEBIAN_FASHION_MNIST / f"{name}.gz") for name in IDX_FILES)
    where = f"Fashion-MNIST files in {DEBIAN_FASHION_MNIST}"
    return Source(*_checked(train_x.unsqueeze(1), train_y.long(), where),  # [60000, 1, 28, 28], [60000]
                  *_checked(test_x.unsqueeze(1), test_y.long(), where))  # [10000, 1, 28, 28], [10000]


@SOURCES.register("mnist")
def mnist(root: Path, seed: int) -> Source:
    """MNIST through torchvision (``<root>/MNIST/raw``)."""
    from torchvision.datasets import MNIST  # deferred: torchvision takes a second to import

    return _idx_source(MNIST, root, "MNIST")


@SOURCES.register("fashion_mnist")
def fashion_mnist(root: Path, seed: int) -> Source:
    """Fashion-MNIST through torchvision, or Debian's files when torchvision's folder is empty."""
    from torchvision.datasets import FashionMNIST

    folder = root / "FashionMNIST" / "raw"
    in_torchvision_layout = any((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in IDX_FILES)
    on_debian = all((DEBIAN_FASHION_MNIST / f"{name}.gz").is_file() for name in IDX_FILES)
    if on_debian and not in_torchvision_layout:
        return _debian_fashion_mnist()
    return _idx_source(FashionMNIST, root, "Fashion-MNIST",
                       hint=" (or apt install dataset-fashion-mnist)")


@SOURCES.register("cifar10")
def cifar10(root: Path, seed: int) -> Source:
    """CIFAR-10 through torchvision (``<root>/cifar-10-batches-py``)."""
    from torchvision.datasets import CIFAR10

    folder = root / CIFAR10.base_folder
    wanted = f"{', '.join(CIFAR10_FILES)} (or cifar-10-python.tar.gz in {root})"
    train, test = _torchvision_splits(CIFAR10, root, folder, CIFAR10_FILES, wanted, "CIFAR-10")
    return _as_source(train, test, folder, "CIFAR-10")


@SOURCES.register("digits")
def digits(root: Path, seed: int) -> Source:
    """scikit-learn's 8x8 digits, scaled to 0..255 and upsampled to 28x28; 90 train images per class."""
    from sklearn.datasets import load_digits  # deferred: scikit-learn is slow to import

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().mul(255 / 16).unsqueeze(1)  # [1797, 1, 8, 8] in 0..255
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)  # [1797, 1, 28, 28]
    x = x.round().clamp(0, 255).to(torch.uint8)
    y = torch.from_numpy(bunch.target).long()  # [1797]
    gen = generator(DIGITS_SPLIT_SEED, "digits-split")
    train = torch.zeros(len(y), dtype=torch.bool)
    for k in range(10):
        members = (y == k).nonzero().squeeze(1)
        train[members[torch.randperm(len(members), generator=gen)[:DIGITS_TRAIN_PER_CLASS]]] = True
    return Source(x[train], y[train], x[~train], y[~train])


def _image_files(folder: Path, pattern: str, convention: str) -> list[Path]:
    """Image files matching ``pattern`` under ``folder``, sorted by path so listing order never matters."""
    if not folder.is_dir():
        raise UserError(f"folder {folder} not found; put {convention} there")
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _labelled(paths: list[Path], parse: Callable[[Path], tuple[int, int] | None], folder: Path,
              convention: str) -> tuple[list[Path], torch.Tensor, torch.Tensor]:
    """The paths whose names parse to (class, group), with those labels; UserError if none does."""
    kept = [(path, labels) for path in paths if (labels := parse(path)) is not None]
    if not kept:
        raise UserError(f"no valid images in {folder}; expected {convention}")
    y = torch.tensor([labels[0] for _, labels in kept], dtype=torch.int64)  # [N]
    a = torch.tensor([labels[1] for _, labels in kept], dtype=torch.int64)  # [N]
    return [path for path, _ in kept], y, a


def _face_pixels(paths: list[Path], folder: Path, convention: str) -> torch.Tensor:
    """Decode images as RGB resized to 64x64 (bilinear); one-line UserError for an unreadable file."""
    out = torch.empty(len(paths), 3, FACE_SIZE, FACE_SIZE, dtype=torch.uint8)  # [N, 3, 64, 64]
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB").resize((FACE_SIZE, FACE_SIZE), Image.BILINEAR)
                out[i] = torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1)
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read image {path} ({_reason(err)}); {folder} should hold {convention}") from None
    return out


def _utkface_labels(path: Path) -> tuple[int, int] | None:
    """(age bin, race) from ``age_gender_race_*``; None for malformed names and race 4 ("Others")."""
    fields = path.name.split("_")
    if len(fields) < 4 or not (fields[0].isdigit() and fields[2].isdigit()):
        return None
    age, race = int(fields[0]), int(fields[2])
    if race > 3:
        return None
    return (0 if age < 20 else 1 if age < 40 else 2), race


def balanced_test(y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int, gen: torch.Generator,
                  per_cell: int = FACE_TEST_PER_CELL) -> torch.Tensor:
    """A test mask with n = min(``per_cell``, smallest non-empty cell) random images from every non-empty
    (class, group) cell."""
    cells = y * num_groups + a  # [N]
    counts = torch.bincount(cells, minlength=num_classes * num_groups)
    n = min(per_cell, int(counts[counts > 0].min()))
    test = torch.zeros(len(y), dtype=torch.bool)
    for cell in range(num_classes * num_groups):
        members = (cells == cell).nonzero().squeeze(1)
        test[members[torch.randperm(len(members), generator=gen)[:n]]] = True
    return test


@SOURCES.register("utkface")
def utkface(root: Path, seed: int) -> Source:
    """UTKFace from ``<root>/UTKFace``: age bin (<20, 20-39, >=40) as class, race as group, 64x64."""
    folder = root / "UTKFace"
    paths, y, a = _labelled(_image_files(folder, "*", UTKFACE_CONVENTION), _utkface_labels, folder,
                            UTKFACE_CONVENTION)
    if torch.bincount(y * 4 + a, minlength=12).min() == 0:
        raise UserError(f"{folder} lacks an (age bin, race) combination; every one of the 12 needs images "
                        f"({UTKFACE_CONVENTION})")
    x = _face_pixels(paths, folder, UTKFACE_CONVENTION)  # [N, 3, 64, 64]
    test = balanced_test(y, a, 3, 4, generator(seed, "utkface-test"))
    return Source(x[~test], y[~test], x[test], y[test], a[~test], a[test])


def _bffhq_labels(path: Path) -> tuple[int, int] | None:
    """(age, gender) from the last two ``_`` fields of the file stem; None for malformed names."""
    fields = path.stem.split("_")
    if len(fields) < 2 or fields[-2] not in ("0", "1") or fields[-1] not in ("0", "1"):
        return None
    return int(fields[-2]), int(fields[-1])


@SOURCES.register("bffhq")
def bffhq(root: Path, seed: int) -> Source:
    """BFFHQ from ``<root>/bffhq``: train = 0.5pct align + conflict, test = test/; age class, gender group."""
    folder = root / "bffhq"
    train_paths = _image_files(folder, "0.5pct/align/*/*", BFFHQ_CONVENTION) + \
        _image_files(folder, "0.5pct/conflict/*/*", BFFHQ_CONVENTION)
    train_paths, train_y, train_a = _labelled(train_paths, _bffhq_labels, folder / "0.5pct", BFFHQ_CONVENTION)
    test_paths, test_y, test_a = _labelled(_image_files(folder, "test/*", BFFHQ_CONVENTION), _bffhq_labels,
                                           folder / "test", BFFHQ_CONVENTION)
    return Source(_face_pixels(train_paths, folder, BFFHQ_CONVENTION), train_y,
                  _face_pixels(test_paths, folder, BFFHQ_CONVENTION), test_y, train_a, test_a)
