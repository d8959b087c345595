"""A tiny image folder and labels CSV written on the fly, in the layout ``cobra-lab data add`` reads."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("cat", "dog", "fox")
GROUPS = ("indoor", "outdoor")
TRAIN_CELLS = ((9, 5), (5, 9), (9, 5))  # train images per (class, group)
TEST_PER_CELL = 3
SIDE = 16


def write_folder(folder: Path, seed: int = 0, split: bool = True) -> Path:
    """PNG images under ``folder/images`` (class = a stripe's position, group = the background's brightness) and
    ``folder/labels.csv`` (path, class, group, split, and a note column to be ignored); returns the CSV."""
    rng = np.random.default_rng(seed)
    rows = [["path", "class", "group", "split", "note"]]
    for k, name in enumerate(CLASSES):
        for g, group in enumerate(GROUPS):
            for split_name, count in (("train", TRAIN_CELLS[k][g]), ("test", TEST_PER_CELL)):
                for i in range(count):
                    pixels = rng.integers(0, 60, (SIDE, SIDE, 3), dtype=np.uint8) + 120 * g
                    pixels[:, 4 * k:4 * k + 4] = 255
                    path = f"{name}/{group}-{split_name}-{i}.png"
                    (folder / "images" / name).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(pixels).save(folder / "images" / path)
                    rows.append([path, name, group, split_name, "ignored"])
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as handle:
        csv.writer(handle).writerows(row if split else row[:3] + row[4:] for row in rows)
    return labels


def counts(train: bool = True) -> list[list[int]]:
    """The expected images per (class, group) of a split, classes and groups in name order."""
    return [list(cell) for cell in TRAIN_CELLS] if train else [[TEST_PER_CELL] * len(GROUPS)] * len(CLASSES)
