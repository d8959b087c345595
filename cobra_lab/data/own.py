"""Users' own datasets: one YAML file each in params/datasets/ (``$COBRA_LAB_DATASETS`` elsewhere), found by the
dataset registry at every lookup, so a dataset added by one process is known to all; ``add_dataset`` checks an
image folder and its CSV, decodes and caches the images, and only then writes the file."""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from ..decoding import probe
from ..errors import UserError, check_choice, check_int, check_range
from ..io import atomic_write_text
from ..paths import repo_root
from . import natural
from .datasets import DATASETS
from .folder import SIZE_RANGE, TEST_PER_CELL, FolderDataset, FolderSpec, default_size, folder_dataset
from .labels import ROLES, check_files, header_of

ENV = "COBRA_LAB_DATASETS"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
HEADER = ("# A dataset of your own, written by `cobra-lab data add`; keep it in version control with your code.\n"
          "# Paths are absolute or relative to the repository root; edit an entry to read the data otherwise.\n")


def datasets_dir() -> Path:
    """The folder of the dataset files: $COBRA_LAB_DATASETS, else params/datasets/ of the repository."""
    folder = Path(os.environ.get(ENV) or repo_root() / "params" / "datasets").expanduser()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"${ENV} {folder} is a file, not a folder" if os.environ.get(ENV) else
                        f"{folder} is a file, not a folder")
    return folder


def check_name(name: str, where: str = "dataset name") -> str:
    """``name`` if it is a safe file name (letters, digits, _ and -; 64 at most) that no built-in dataset has."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UserError(f"{where} {name!r} is not a safe file name: use letters, digits, _ and - (64 at most), "
                        f"starting with a letter or digit")
    if name in DATASETS.registered():
        raise UserError(f"{where} {name!r} is a built-in dataset's; choose another name")
    return name


def _stamp(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of ``path``, None if it cannot be read."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=64)
def _spec(path: Path, stamp: tuple[int, int] | None) -> FolderSpec:
    """The spec in the file ``path``, parsed and checked once per version of the file."""
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UserError(f"dataset file {path} is unreadable ({' '.join(str(error).split())[:160]})") from None
    return FolderSpec.checked(values, str(path))


@functools.lru_cache(maxsize=64)
def _dataset(name: str, path: Path, stamp: tuple[int, int] | None,
             csv_stamp: tuple[int, int] | None) -> FolderDataset:
    """The dataset of the file ``path``, read once per version of the file and of its CSV."""
    return folder_dataset(name, _spec(path, stamp))


def _factory(path: Path) -> Callable[[], FolderDataset]:
    """What the registry builds for the file ``path``: its dataset, read again when it or its CSV changed."""
    def build() -> FolderDataset:
        stamp = _stamp(path)
        return _dataset(path.stem, path, stamp, _stamp(_spec(path, stamp).csv))

    return build


def find_datasets() -> dict[str, Callable[[], FolderDataset]]:
    """The datasets of the dataset folder by name (each file's stem); a file whose name is not a safe name or is
    a built-in dataset's is a one-line UserError naming it."""
    folder = datasets_dir()
    found = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        check_name(path.stem, f"the dataset file {path} has the name")
        found[path.stem] = _factory(path)
    return found


DATASETS.discover(find_datasets)


def _stored(path: Path) -> str:
    """``path`` as a dataset file keeps it: relative to the repository root when inside it, else absolute."""
    path = path.expanduser().resolve()
    return str(path.relative_to(repo_root())) if path.is_relative_to(repo_root()) else str(path)


@dataclass
class Added:
    """What ``add_dataset`` did: the dataset, the file it wrote and what it chose for options not given."""

    dataset: FolderDataset
    path: Path
    chosen: str | None  # one line on the image size and channels chosen, None when both were given

    @property
    def labels(self) -> Path:
        """The labels CSV the dataset reads."""
        return self.dataset.spec.csv

    def summary(self) -> str:
        """One line: images, split sizes, classes x groups and where the file is."""
        test = self.dataset.test_mask(0)
        spec = self.dataset.spec
        drawn = ", test drawn class- and group-balanced" if self.dataset.table.test is None else ""
        return (f"added {self.dataset.name}: {len(test)} images ({int((~test).sum())} train, {int(test.sum())} test"
                f"{drawn}), {len(self.dataset.class_names)} classes x {self.dataset.num_groups} groups, "
                f"{spec.size}x{spec.size} px, {spec.channels} channel(s) -> {self.path}")


def add_dataset(name: str, images: str | os.PathLike, labels: str | os.PathLike, *,
                columns: dict[str, str | None] | None = None, size: int | None = None, channels: int | None = None,
                test_per_cell: int | None = None, skew: float | None = None, replace: bool = False,
                workers: int | None = None, root: str | os.PathLike | None = None, progress: bool = True) -> Added:
    """Check the folder ``images`` and its CSV ``labels``, decode every image into the data cache and write
    params/datasets/<name>.yaml; any bad input is a one-line UserError raised before anything is cached or
    written. ``columns`` maps roles (path, class, group, split) to other column names; split defaults to a
    ``split`` column when the CSV has one, else a test split is drawn. Unset size and channels are chosen from
    the images (``Added.chosen`` says how)."""
    check_name(name)
    folder, csv_path = Path(images).expanduser(), Path(labels).expanduser()
    if not folder.is_dir():
        raise UserError(f"image folder {folder} {'is not a folder' if folder.exists() else 'not found'}")
    header = header_of(csv_path)
    given = dict(columns or {})
    unknown = sorted(set(given) - set(ROLES))
    if unknown:
        raise UserError(f"unknown column role {unknown[0]!r}; roles: {', '.join(ROLES)}")
    mapped = {role: given.get(role) or role for role in ROLES[:3]}
    mapped["split"] = given.get("split") or ("split" if "split" in header else None)
    size = None if size is None else check_int("size", size, *SIZE_RANGE)
    channels = None if channels is None else int(check_choice("channels", str(channels), ("1", "3")))
    spec = FolderSpec(_stored(folder), _stored(csv_path), mapped, size or 32, channels or 3,
                      TEST_PER_CELL if test_per_cell is None else check_int("test-per-cell", test_per_cell, 1),
                      None if skew is None else check_range("skew", skew, 0, 1))
    dataset = folder_dataset(name, spec)
    check_files(dataset.table, folder, csv_path)
    notes = []
    if size is None or channels is None:
        side, colour = probe([str(folder / path) for path in dataset.table.paths])
        if size is None:
            spec = dataclasses.replace(spec, size=default_size(side))
            notes.append(f"size {spec.size} chosen for images whose median shorter side is {side} px (--size)")
        if channels is None:
            spec = dataclasses.replace(spec, channels=colour)
            notes.append(f"{colour} channel(s), the images being {'in colour' if colour == 3 else 'grey'} "
                         f"(--channels)")
    dataset = dataclasses.replace(dataset, spec=spec, mean=(0.5,) * spec.channels, std=(0.5,) * spec.channels)
    test = dataset.test_mask(0)
    if skew is not None:
        train = natural.cell_counts(dataset.table.y[~test], dataset.table.a[~test], len(dataset.class_names),
                                    dataset.num_groups)
        natural.check_reachable(train, torch.tensor(dataset.majority), skew, name)
    target = datasets_dir() / f"{name}.yaml"
    text = HEADER + yaml.safe_dump(spec.as_dict(), sort_keys=False)
    if target.exists() and not replace and target.read_text(encoding="utf-8") != text:
        raise UserError(f"dataset {name} exists ({target}) with other options; pass --replace (replace=True) to "
                        f"overwrite it")
    dataset.decoded(root, workers, progress)
    atomic_write_text(target, text)
    return Added(dataset, target, "; ".join(notes) or None)
