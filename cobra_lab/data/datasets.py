"""The named datasets: which base set, how groups are drawn and rendered, names and normalisation."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..registry import Registry
from . import bias
from .seeding import generator
from .sources import Source, load_source

HALF = (0.5, 0.5, 0.5)  # colour sets are normalised to [-1, 1]
CIFAR10S_MEAN, CIFAR10S_STD = (0.48905, 0.48451, 0.46715), (0.24278, 0.24082, 0.25098)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
UTKFACE_MEAN, UTKFACE_STD = (0.61359, 0.47225, 0.40703), (0.25493, 0.23054, 0.22835)
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot")
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PIXEL_KEYS = ("train_x", "train_y", "train_a", "test_x", "test_y", "test_a")
# data.render: our colouring; the reference code's pixels where they differ; or every image painted alike
# (the paper's GAP sweep, Appendix F: groups differ only by the GAP ladder)
RENDERS = ("clean", "reference", "shared")
SHARED_COLOUR = 1  # palette orange (255, 128, 0): three distinct channels, so the ladder's channel shuffle shows
DEFAULT_SKEW = 0.9


@dataclass(frozen=True)
class Dataset:
    """Static facts of one dataset and the recipe that turns its base set into biased uint8 splits."""

    source: str
    class_names: tuple[str, ...]
    group_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    majority: tuple[int, ...] | None = None  # designated majority group per class; None: natural groups
    render: bias.Render | None = None  # paints base images given their groups
    duplicate_test: bool = False  # test = every test image in every group (else group-balanced draw)
    reference_render: bias.Render | None = None  # the reference code's painting, where it differs from ``render``
    default_skew: float | None = DEFAULT_SKEW  # the skew when none is given (a user's set: None, as its data has)
    shared_group: int | None = None  # render shared: every image painted as this group's are (None: natural groups)

    @property
    def num_groups(self) -> int:
        return len(self.group_names)

    def build(self, source: Source, skew: float | None, gap: int, seed: int, with_test: bool = True,
              render: str = "clean") -> dict[str, torch.Tensor]:
        """The uint8 splits with their classes and true groups (keys PIXEL_KEYS; train only without
        ``with_test``: the same train pixels, faster), painted by ``render`` (one of RENDERS), ready to cache.

        GAP corrupts every minority image (group != its class's majority group) in train and test alike:
        the corruption is part of what the group looks like, not a property of one split. Under ``render``
        shared every image is painted as group ``shared_group``'s are and the test split holds every test image
        in every group (for a set that does not duplicate its test split, a seeded class-balanced 1/G of them,
        so the split keeps its size): at GAP 0 each group's test images are the same images."""
        if self.majority is None:
            return dict(zip(PIXEL_KEYS, (source.train_x, source.train_y, source.train_a,
                                         source.test_x, source.test_y, source.test_a)))
        majority = torch.tensor(self.majority)  # [C]
        gen = generator(seed, "groups")
        train_a = bias.skewed_groups(source.train_y, majority, self.num_groups, skew, gen)  # [N]
        if render == "shared":
            share = slice(None) if self.duplicate_test else \
                bias.class_balanced_share(source.test_y, len(self.class_names), self.num_groups, gen)
            test_x, test_y, test_a = bias.every_group(source.test_x[share], source.test_y[share], self.num_groups)
        elif self.duplicate_test:
            test_x, test_y, test_a = bias.every_group(source.test_x, source.test_y, self.num_groups)
        else:
            test_x, test_y = source.test_x, source.test_y
            test_a = bias.balanced_groups(test_y, len(self.class_names), self.num_groups, gen)  # [M]
        splits = {"train_x": source.train_x, "train_y": source.train_y, "train_a": train_a,
                  "test_x": test_x, "test_y": test_y, "test_a": test_a}
        paint = self.reference_render if render == "reference" else self.render
        return painted(splits, paint, majority, gap, seed, with_test, self.shared_group if render == "shared" else None)

    def load_source(self, root: str | os.PathLike | None = None, seed: int = 0) -> Source:
        """The base image set this dataset is built from (``seed`` only picks the face sets' test cells)."""
        return load_source(self.source, root, seed)

    def content(self) -> str | None:
        """A digest of the user's files the set is read from; None for a built-in set (fixed by its name)."""
        return None

    def highest_skew(self, source: Source) -> float:
        """The highest SKEW this set can be built at from ``source``."""
        return 1.0


def painted(splits: dict[str, torch.Tensor], paint: bias.Render | None, majority: torch.Tensor, gap: int,
            seed: int, with_test: bool = True, shared_group: int | None = None) -> dict[str, torch.Tensor]:
    """``splits`` (PIXEL_KEYS) with each split's images painted by ``paint`` given their groups (None: as they
    are; every image as group ``shared_group``'s are where one is given) and GAP ``gap`` applied to its minority
    images (group != ``majority[class]``); train only without ``with_test``."""
    out = dict(splits)
    gap_gen = generator(seed, "gap")
    for split in ("train", "test")[:2 if with_test else 1]:
        x, y, a = splits[f"{split}_x"], splits[f"{split}_y"], splits[f"{split}_a"]
        painted_as = a if shared_group is None else torch.full_like(a, shared_group)  # [N]
        pixels = bias.render_in_chunks(paint, x, painted_as) if paint else x.clone() if gap else x  # [N, 3, H, W]
        if gap:
            minority = bias.minority_mask(y, a, majority)  # [N] bool
            pixels[minority] = bias.apply_gap(pixels[minority], gap, gap_gen)
        out[f"{split}_x"] = pixels
    return out


DATASETS: Registry[Dataset] = Registry("dataset")


def _colour(source: str, class_names: tuple[str, ...], render: bias.Render, duplicate_test: bool = False,
            reference_render: bias.Render | None = None) -> Dataset:
    """A 10-colour dataset: class k's majority colour is palette entry k."""
    return Dataset(source, class_names, bias.COLOUR_NAMES, HALF, HALF, tuple(range(10)), render, duplicate_test,
                   reference_render, shared_group=SHARED_COLOUR)


@DATASETS.register("cmnist_fg")
def cmnist_fg() -> Dataset:
    """MNIST digits (binary mask) in their group's colour on black."""
    return _colour("mnist", DIGIT_NAMES, bias.fg_binary)


@DATASETS.register("cmnist_bg")
def cmnist_bg() -> Dataset:
    """Black MNIST digits (binary mask) on their group's colour."""
    return _colour("mnist", DIGIT_NAMES, bias.bg_binary)


@DATASETS.register("cfmnist_fg")
def cfmnist_fg() -> Dataset:
    """Fashion-MNIST objects tinted with their group's colour (continuous intensity) on black."""
    return _colour("fashion_mnist", FASHION_NAMES, bias.fg_continuous)


@DATASETS.register("cfmnist_bg")
def cfmnist_bg() -> Dataset:
    """Gray Fashion-MNIST objects over their group's background colour (``render: reference``: the reference
    code's overflowing arithmetic)."""
    return _colour("fashion_mnist", FASHION_NAMES, bias.bg_continuous, reference_render=bias.bg_continuous_as_coded)


@DATASETS.register("cdigits_fg")
def cdigits_fg() -> Dataset:
    """scikit-learn digits tinted with their group's colour; test = every test image in every colour."""
    return _colour("digits", DIGIT_NAMES, bias.fg_continuous, duplicate_test=True)


@DATASETS.register("cdigits_bg")
def cdigits_bg() -> Dataset:
    """Gray scikit-learn digits over their group's background; test = every test image in every colour
    (``render: reference``: cfmnist_bg's reference arithmetic)."""
    return _colour("digits", DIGIT_NAMES, bias.bg_continuous, duplicate_test=True,
                   reference_render=bias.bg_continuous_as_coded)


@DATASETS.register("cifar10s")
def cifar10s() -> Dataset:
    """CIFAR10-S: classes 0-4 mostly grayscale (group 0), 5-9 mostly colour (group 1); test duplicated
    (``render: shared``: every image in colour, plain CIFAR-10, as the paper's GAP sweep starts from).

    Which train images turn gray is drawn per class with the dataset seed (the reference permutes once with
    seed 0, then takes the first images met; the two draws are alike in distribution)."""
    return Dataset("cifar10", CIFAR10_NAMES, ("gray", "colour"), CIFAR10S_MEAN, CIFAR10S_STD,
                   (0,) * 5 + (1,) * 5, bias.gray_or_colour, duplicate_test=True, shared_group=1)


@DATASETS.register("utkface")
def utkface() -> Dataset:
    """UTKFace: age bin as class, race as the natural group."""
    return Dataset("utkface", ("age<20", "age 20-39", "age>=40"), ("White", "Black", "Asian", "Indian"),
                     UTKFACE_MEAN, UTKFACE_STD)


@DATASETS.register("bffhq")
def bffhq() -> Dataset:
    """BFFHQ: age (young / old) as class, gender as the natural group (0 female, 1 male: young is aligned
    with female in the 0.5pct/align split)."""
    return Dataset("bffhq", ("young", "old"), ("female", "male"), CIFAR10_MEAN, CIFAR10_STD)


def shared_rendered() -> list[str]:
    """The datasets ``render=shared`` applies to: those with designated majority groups (not natural ones)."""
    return [name for name in DATASETS.names() if DATASETS.build(name).shared_group is not None]


def reference_rendered() -> list[str]:
    """The datasets the reference code paints otherwise than ours: those ``render=reference`` applies to."""
    return [name for name in DATASETS.registered() if DATASETS.build(name).reference_render is not None]
