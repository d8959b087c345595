"""Paths relative to the repository root, so notebooks and scripts find the same folders from any cwd."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UserError


def repo_root() -> Path:
    """The repository holding this (editable-installed) package: where params/, data/ and outputs/ live."""
    return Path(__file__).resolve().parents[1]


def check_writable(folder: str | os.PathLike, what: str) -> Path:
    """``folder`` if files can be created in it (or in the nearest existing folder above it, when it does not
    exist yet), else a one-line UserError naming ``what`` it is; nothing is left behind either way."""
    folder = Path(folder).expanduser()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot write the {what} {folder}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):  # creates and removes an unnamed file
            pass
    except OSError as error:
        raise UserError(f"cannot write the {what} {folder}: no file can be created in {existing} "
                        f"({error.strerror or error})") from None
    return folder


def output_dir(path: str | os.PathLike) -> Path:
    """``path`` resolved against the repo root (an absolute path stays as it is), created if missing."""
    folder = check_writable(repo_root() / Path(path).expanduser(), "output folder")  # an absolute path stays
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the output folder {folder}: {error.strerror or error}") from None
    return folder
