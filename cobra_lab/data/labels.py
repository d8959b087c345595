"""The CSV of a user's own dataset: one row per image with its path (relative to the image folder), class, group
and optionally split, read and checked row by row. Class and group are the user's text (names or integers),
kept as names; nothing in a row is ever used to build a path outside the folder."""
from __future__ import annotations

import contextlib
import csv
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError

ROLES = ("path", "class", "group", "split")  # what a column holds; split (train / test) is optional
REQUIRED = ROLES[:3]
SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelTable:
    """The rows of a labels CSV, checked: a path, class and group per image, and which images are test ones."""

    paths: list[str]  # normalised, relative to the image folder, in CSV order
    lines: list[int]  # the CSV line of each row (the header is line 1), to name it in messages
    y: torch.Tensor  # [N] int64 class index into class_names
    a: torch.Tensor  # [N] int64 group index into group_names
    test: torch.Tensor | None  # [N] bool from the split column; None when the CSV has none
    class_names: tuple[str, ...]
    group_names: tuple[str, ...]

    def where(self, row: int) -> str:
        """Row ``row`` as a message names it: its CSV line and path."""
        return f"line {self.lines[row]} ({self.paths[row]})"


def _ordered(values: set[str]) -> tuple[str, ...]:
    """Names in order: numerically when every one spells an integer, else alphabetically."""
    if all(value.lstrip("-").isdigit() for value in values):
        return tuple(sorted(values, key=lambda value: (int(value), value)))
    return tuple(sorted(values))


def relative_path(text: str, where: str) -> str:
    """``text`` as a normalised path inside the image folder; a UserError when it is absolute or climbs out."""
    path = posixpath.normpath(text.replace("\\", "/"))
    if posixpath.isabs(path) or path == ".." or path.startswith("../") or (len(path) > 1 and path[1] == ":"):
        raise UserError(f"{where}: path {text!r} escapes the image folder; give paths relative to it, inside it")
    return path


@contextlib.contextmanager
def _rows(source: Path) -> Iterator:
    """A csv reader over ``source``; a one-line UserError when it is missing or unreadable."""
    try:
        with open(source, newline="", encoding="utf-8-sig") as handle:
            yield csv.reader(handle)
    except FileNotFoundError:
        raise UserError(f"labels file {source} not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"labels file {source} is unreadable ({' '.join(str(error).split())[:160]})") from None


def header_of(source: Path) -> list[str]:
    """The column names of the CSV ``source``."""
    with _rows(source) as rows:
        return _header(rows, source)


def _header(rows, source: Path) -> list[str]:
    """The header row; a UserError for an empty file."""
    header = next(rows, None)
    if not header:
        raise UserError(f"{source} is empty; it needs a header row naming the columns {', '.join(REQUIRED)}")
    return [name.strip() for name in header]


def _column_indices(header: list[str], columns: dict[str, str | None], source: Path) -> dict[str, int]:
    """The position of each mapped column; a UserError naming the missing ones and the columns the CSV has."""
    missing = [f"{role} (column {columns[role]!r})" if columns[role] != role else role
               for role in ROLES if columns[role] is not None and columns[role] not in header]
    if missing:
        raise UserError(f"{source} lacks the column(s) {', '.join(missing)}; it has: {', '.join(header) or 'none'}"
                        f" (--path-column, --class-column, --group-column, --split-column map other names)")
    return {role: header.index(name) for role, name in columns.items() if name is not None}


def read_labels(source: Path, columns: dict[str, str | None]) -> LabelTable:
    """The checked rows of the CSV ``source``; ``columns`` maps each role of ROLES to a column name (split: None
    when the CSV has none). A one-line UserError names the first bad row: an empty path, class or group, a path
    that escapes the folder or repeats another, a split other than train or test, or fewer than two classes."""
    with _rows(source) as rows:
        index = _column_indices(_header(rows, source), columns, source)
        entries = [(rows.line_num, row) for row in rows if any(cell.strip() for cell in row)]
    paths, lines, classes, groups, splits, seen = [], [], [], [], [], {}
    for line, row in entries:
        where = f"{source.name} line {line}"
        cells = {role: row[i].strip() if i < len(row) else "" for role, i in index.items()}
        for role in index:
            if not cells[role]:
                raise UserError(f"{where}: empty {role}; every row needs a path, a class and a group"
                                + (" and a split" if role == "split" else ""))
        path = relative_path(cells["path"], where)
        if path in seen:
            raise UserError(f"{where}: path {path} repeats line {seen[path]}; list each image once")
        seen[path] = line
        if "split" in index and cells["split"].lower() not in SPLITS:
            raise UserError(f"{where}: split must be train or test, got {cells['split']!r}")
        paths.append(path)
        lines.append(line)
        classes.append(cells["class"])
        groups.append(cells["group"])
        splits.append(cells.get("split", "").lower() == "test")
    class_names, group_names = _ordered(set(classes)), _ordered(set(groups))
    if len(class_names) < 2:
        raise UserError(f"{source} has {len(class_names)} class(es) ({', '.join(class_names) or 'no rows'}); "
                        f"a classifier needs two or more")
    class_index = {name: k for k, name in enumerate(class_names)}
    group_index = {name: g for g, name in enumerate(group_names)}
    return LabelTable(paths, lines, torch.tensor([class_index[c] for c in classes], dtype=torch.int64),
                      torch.tensor([group_index[g] for g in groups], dtype=torch.int64),
                      torch.tensor(splits, dtype=torch.bool) if "split" in index else None,
                      class_names, group_names)


def check_files(table: LabelTable, folder: Path, source: Path) -> list[tuple[int, int, int]]:
    """(size, mtime_ns, inode) of every row's file; a UserError for a file that is missing, not a regular file,
    or reached through a link that points out of ``folder``."""
    root = os.path.realpath(folder)
    stats = []
    for row, path in enumerate(table.paths):
        full = os.path.join(root, path)
        try:
            status = os.stat(full)
        except OSError:
            raise UserError(f"{source.name} {table.where(row)}: file not found in {folder}") from None
        real = os.path.realpath(full)
        if os.path.commonpath([root, real]) != root:
            raise UserError(f"{source.name} {table.where(row)}: a link to {real}, outside the image folder "
                            f"{folder}; copy the image into the folder")
        if not stat.S_ISREG(status.st_mode):
            raise UserError(f"{source.name} {table.where(row)}: not a file")
        stats.append((status.st_size, status.st_mtime_ns, status.st_ino))
    return stats

