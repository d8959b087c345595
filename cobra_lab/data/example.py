"""A small biased dataset written as files, to try ``cobra-lab data add`` on: scikit-learn's embedded digits as
32 x 32 PNG images on a red, green or blue background (the group), with a labels CSV of path, class (the digit's
name), group (the colour's name) and split. In the train split each digit sits on its own colour (digit k on
colour k mod 3) in a share SKEW of its images; the test split spreads every digit evenly over the colours."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import UserError, check_int, check_range
from ..io import atomic_write_bytes
from . import bias
from .own import Added, add_dataset
from .seeding import generator
from .sources import load_source

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COLOURS = {"red": 0, "green": 4, "blue": 6}  # group name -> entry of bias.PALETTE
LABELS = "labels.csv"


def _subset(y: torch.Tensor, per_class: int | None, gen: torch.Generator) -> torch.Tensor:
    """Indices of up to ``per_class`` random images of every class (all with None), in order."""
    if per_class is None:
        return torch.arange(len(y))
    return torch.cat([members[torch.randperm(len(members), generator=gen)[:per_class]]
                      for members in (torch.nonzero(y == k).squeeze(1) for k in range(int(y.max()) + 1))]).sort().values


def write_example(folder: str | Path, skew: float = 0.8, per_class: int | None = None, seed: int = 0) -> Path:
    """Write the example into ``folder`` (images under ``images/``) and return its labels CSV; ``per_class``
    keeps that many train and test images of each digit (None: all 1797)."""
    folder = Path(folder)
    skew = check_range("skew", skew, 1 / len(COLOURS), 1)
    per_class = None if per_class is None else check_int("per-class", per_class, 2)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; name a folder to write the example into")
    source = load_source("digits")
    palette = torch.tensor(list(COLOURS.values()))
    gen = generator(seed, "example")
    rows = [("path", "class", "group", "split")]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for split, gray, y in (("train", source.train_x, source.train_y), ("test", source.test_x, source.test_y)):
        chosen = _subset(y, per_class, gen)
        gray, y = gray[chosen], y[chosen]  # [n, 1, 28, 28], [n]
        if split == "train":
            groups = bias.skewed_groups(y, torch.arange(10) % len(COLOURS), len(COLOURS), skew, gen)  # [n]
        else:
            groups = bias.balanced_groups(y, 10, len(COLOURS), gen)  # [n]
        pixels = bias.bg_continuous(gray, palette[groups])  # [n, 3, 32, 32] uint8
        for i in range(len(y)):
            name = f"{split}-{i:04d}.png"  # relative to the image folder, as the CSV gives paths
            Image.fromarray(np.ascontiguousarray(pixels[i].permute(1, 2, 0).numpy())).save(folder / "images" / name)
            rows.append((name, DIGIT_WORDS[int(y[i])], list(COLOURS)[int(groups[i])], split))
    text = io.StringIO()  # written last and atomically: a labels file means every image is there
    csv.writer(text, lineterminator="\n").writerows(rows)
    return atomic_write_bytes(folder / LABELS, text.getvalue().encode("utf-8"))


def add_example(folder: str | Path, name: str, per_class: int | None = None, seed: int = 0,
                progress: bool = True) -> Added:
    """Write the example into ``folder`` and add it as the dataset ``name`` (``cobra-lab data example`` then
    ``cobra-lab data add``), as a notebook shows the whole path; an earlier example of that name, written to
    another folder, is replaced (the notebook rerun with another ``out_dir``)."""
    labels = write_example(folder, per_class=per_class, seed=seed)
    return add_dataset(name, labels.parent / "images", labels, replace=True, progress=progress)
