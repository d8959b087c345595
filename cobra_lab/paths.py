"""Paths relative to the repository root, so notebooks and scripts find the same folders from any cwd."""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository holding this (editable-installed) package: where params/, data/ and outputs/ live."""
    return Path(__file__).resolve().parents[1]


def output_dir(path: str | os.PathLike) -> Path:
    """``path`` resolved against the repo root (an absolute path stays as it is), created if missing."""
    folder = repo_root() / Path(path).expanduser()  # joining an absolute path keeps only that path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
