"""A user's own dataset: images in a folder labelled by a CSV (``labels.py``), read as its YAML file says
(``FolderSpec``). Its groups are natural; the train split may be subsampled to a SKEW (``natural.py``). The decoded
pixels are cached under a digest of everything the set is built from: the reading options, the CSV's bytes and
every image's bytes, so a changed file means a new cache entry and a moved folder none."""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..decoding import MODES, decode_images
from ..errors import UserError, check_choice, check_int, check_range, warn
from ..paths import repo_root
from . import natural
from .cache import cached
from .datasets import Dataset, painted
from .labels import ROLES, LabelTable, check_files, read_labels
from .seeding import generator
from .sources import Source, balanced_test, data_root

DECODE_VERSION = "1"  # bump when a change alters the pixels decoded from the same files
SIZE_RANGE = (8, 512)  # image sizes a spec may ask for
TEST_PER_CELL = 100  # images per (class, group) cell of a drawn test split, as the paper's face sets
READ_CHUNK = 1 << 20
_DIGESTS: dict[str, str] = {}  # signature (options, CSV, every file's size, mtime and inode) -> content digest


@dataclass(frozen=True)
class FolderSpec:
    """How a user's dataset is read: the YAML file ``cobra-lab data add`` writes in params/datasets/."""

    images: str  # the image folder: absolute, or relative to the repository root
    labels: str  # the CSV, likewise
    columns: dict[str, str | None]  # role (path, class, group, split) -> column name; split None: none
    size: int  # images are resized to size x size
    channels: int  # 1 (grey) or 3 (RGB)
    test_per_cell: int = TEST_PER_CELL  # for a test split drawn when the CSV has no split column
    skew: float | None = None  # the train split subsampled to this SKEW by default; None: as the CSV gives it

    @property
    def folder(self) -> Path:
        return repo_root() / Path(self.images).expanduser()  # an absolute path stays as it is

    @property
    def csv(self) -> Path:
        return repo_root() / Path(self.labels).expanduser()

    @classmethod
    def checked(cls, values: object, where: str) -> FolderSpec:
        """The spec ``values`` (parsed YAML) describe; a one-line UserError naming ``where`` for a bad entry."""
        if not isinstance(values, dict):
            raise UserError(f"{where} must be a mapping of images, labels, columns, size, channels, ...")
        names = [f.name for f in cls.__dataclass_fields__.values()]
        unknown, missing = sorted(set(values) - set(names)), [n for n in names[:5] if n not in values]
        if unknown or missing:
            raise UserError(f"{where}: {'unknown entry ' + repr(unknown[0]) if unknown else 'no ' + missing[0]}; "
                            f"entries: {', '.join(names)}")
        columns = values["columns"]
        if not isinstance(columns, dict) or set(columns) != set(ROLES) or not all(
                isinstance(columns[role], str) and columns[role] for role in ROLES[:3]) or not (
                columns["split"] is None or isinstance(columns["split"], str)):
            raise UserError(f"{where}: columns must map each of {', '.join(ROLES)} to a column name (split: null for "
                            f"none), got {columns!r}")
        for key in ("images", "labels"):
            if not isinstance(values[key], str) or not values[key]:
                raise UserError(f"{where}: {key} must be a path, got {values[key]!r}")
        skew = values.get("skew")
        return cls(values["images"], values["labels"], dict(columns),
                   check_int(f"{where}: size", values["size"], *SIZE_RANGE),
                   int(check_choice(f"{where}: channels", str(values["channels"]), ("1", "3"))),
                   check_int(f"{where}: test_per_cell", values.get("test_per_cell", TEST_PER_CELL), 1),
                   None if skew is None else check_range(f"{where}: skew", skew, 0, 1))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FolderDataset(Dataset):
    """A user's dataset: natural groups from its CSV, each class's largest train group as its majority (the
    minority that GAP corrupts), the train split optionally subsampled to a SKEW."""

    name: str = ""
    spec: FolderSpec | None = None
    table: LabelTable | None = field(default=None, repr=False)

    def content(self) -> str:
        """The digest of the reading options, the CSV's bytes and every listed image's bytes (read again only
        when a file's size, time or inode changed in this process); a one-line UserError for a listed file that
        is missing or reached through a link out of the folder."""
        data = self.spec.csv.read_bytes()
        options = json.dumps({**self.spec.as_dict(), "images": None, "labels": None, "skew": None,
                              "version": DECODE_VERSION}, sort_keys=True).encode()
        stats = check_files(self.table, self.spec.folder, self.spec.csv)
        signature = hashlib.sha256(options + data + repr((str(self.spec.folder.resolve()), stats)).encode())
        key = signature.hexdigest()
        if key not in _DIGESTS:
            digest = hashlib.sha256(options)
            digest.update(hashlib.sha256(data).digest())
            root = os.path.realpath(self.spec.folder)
            for path in self.table.paths:
                with open(os.path.join(root, path), "rb") as handle:
                    while chunk := handle.read(READ_CHUNK):
                        digest.update(chunk)
                digest.update(b"\0")  # ends each file, so the bytes of two files cannot be read as another pair
            _DIGESTS[key] = digest.hexdigest()
        return _DIGESTS[key]

    def decoded(self, root: str | os.PathLike | None = None, workers: int | None = None,
                progress: bool = True) -> torch.Tensor:
        """Every listed image as [N, C, S, S] uint8, in CSV order: from the data cache when an intact copy of
        this content is there, else decoded (``workers`` processes) and cached; mixed image modes are said once."""
        def decode() -> dict[str, torch.Tensor]:
            folder = os.path.realpath(self.spec.folder)
            result = decode_images([os.path.join(folder, path) for path in self.table.paths], self.spec.size,
                                   self.spec.channels, workers, progress)
            if len(result.modes) > 1:
                warn(f"{self.name}: the images come in modes {', '.join(sorted(result.modes))}; all converted to "
                     f"{MODES[self.spec.channels]}")
            return {"x": torch.from_numpy(result.pixels)}

        path = data_root(root) / "cache" / f"folder-{self.content()[:32]}.pt"
        return cached(path, ("x",), decode)["x"]

    def test_mask(self, seed: int) -> torch.Tensor:
        """[N] bool: the CSV's test rows, or a class- and group-balanced draw of min(test_per_cell, half the
        smallest cell) images per (class, group) cell, so every cell keeps train images."""
        if self.table.test is not None:
            return self.table.test
        counts = natural.cell_counts(self.table.y, self.table.a, len(self.class_names), self.num_groups)  # [C, G]
        smallest = int(counts[counts > 0].min())
        if smallest < 2:
            k, g = divmod(int(((counts > 0) & (counts < 2)).flatten().nonzero()[0]), self.num_groups)
            raise UserError(f"{self.name}: class {self.class_names[k]!r} has a single image of group "
                            f"{self.group_names[g]!r}, too few to draw a balanced test split from; add images or a "
                            f"split column (train / test) to {self.spec.csv}")
        return balanced_test(self.table.y, self.table.a, len(self.class_names), self.num_groups,
                             generator(seed, "folder-test"), min(self.spec.test_per_cell, smallest // 2))

    def load_source(self, root: str | os.PathLike | None = None, seed: int = 0) -> Source:
        """The decoded images split into train and test (``seed`` draws the test split when the CSV has none)."""
        x, test = self.decoded(root), self.test_mask(seed)  # [N, C, S, S], [N]
        y, a = self.table.y, self.table.a
        return Source(x[~test], y[~test], x[test], y[test], a[~test], a[test])

    def build(self, source: Source, skew: float | None, gap: int, seed: int, with_test: bool = True,
              render: str = "clean") -> dict[str, torch.Tensor]:
        """The splits with their natural groups; the train split subsampled to ``skew`` (None: all of it) and
        GAP applied to the minority images (group != the class's largest train group)."""
        x, y, a = source.train_x, source.train_y, source.train_a
        majority = torch.tensor(self.majority)  # [C]
        if skew is not None:
            keep = natural.subsample(y, a, len(self.class_names), self.num_groups, skew, majority,
                                     generator(seed, "skew"), self.name)
            x, y, a = x[keep], y[keep], a[keep]
        splits = {"train_x": x, "train_y": y, "train_a": a,
                  "test_x": source.test_x, "test_y": source.test_y, "test_a": source.test_a}
        return painted(splits, None, majority, gap, seed, with_test)

    def highest_skew(self, source: Source) -> float:
        """The highest SKEW the train split reaches keeping an image of every group of every class."""
        counts = natural.cell_counts(source.train_y, source.train_a, len(self.class_names), self.num_groups)
        return natural.highest_skew(counts, torch.tensor(self.majority))


def folder_dataset(name: str, spec: FolderSpec) -> FolderDataset:
    """The dataset ``spec`` describes, its CSV read and checked: every class needs train images of two groups or
    more (else there is no fairness question to ask) and, with a split column, test images."""
    table = read_labels(spec.csv, spec.columns)
    train = ~table.test if table.test is not None else torch.ones(len(table.y), dtype=torch.bool)
    counts = natural.cell_counts(table.y[train], table.a[train], len(table.class_names), len(table.group_names))
    for k, row in enumerate(counts):
        present = [table.group_names[g] for g in row.nonzero().flatten().tolist()]
        if len(present) < 2:
            held = f"images of a single group ({present[0]!r})" if present else "no images"
            raise UserError(f"{name}: class {table.class_names[k]!r} has {held} in the train split, so there is no "
                            f"fairness question to ask of it; give it images of two groups or more, or leave it out")
    if table.test is not None:
        tested = torch.bincount(table.y[table.test], minlength=len(table.class_names))
        if (tested == 0).any():
            missing = table.class_names[int((tested == 0).nonzero()[0])]
            raise UserError(f"{name}: class {missing!r} has no test images; mark some rows of it test in {spec.csv}")
    half = (0.5,) * spec.channels  # pixels normalised to [-1, 1]
    return FolderDataset("folder", table.class_names, table.group_names, half, half,
                         tuple(natural.largest_groups(counts).tolist()), default_skew=spec.skew, name=name,
                         spec=spec, table=table)


def default_size(side: int) -> int:
    """The power of two nearest to ``side`` (on a log scale) from 16 to 64: 28 px digits -> 32, faces -> 64."""
    return min((16, 32, 64), key=lambda size: abs(math.log2(size) - math.log2(max(side, 1))))
