"""Repo-relative paths and atomic figure saving."""
from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image

from cobra_lab import paths
from cobra_lab.paths import output_dir, repo_root
from cobra_lab.plots import save_figure


def test_repo_root_holds_the_project() -> None:
    root = repo_root()
    assert (root / "pyproject.toml").is_file() and (root / "cobra_lab" / "paths.py").is_file()


def test_output_dir_is_relative_to_repo_root_from_any_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.chdir(tmp_path)  # a cwd other than the root, like a notebook's notebooks/
    folder = output_dir("outputs/00_quickstart")
    assert folder == tmp_path / "repo" / "outputs" / "00_quickstart" and folder.is_dir()
    assert output_dir(folder) == folder  # idempotent on an existing folder


def test_output_dir_keeps_absolute_paths(tmp_path: Path) -> None:
    folder = output_dir(tmp_path / "a" / "b")
    assert folder == tmp_path / "a" / "b" and folder.is_dir()


def test_save_figure_writes_readable_png_atomically(tmp_path: Path) -> None:
    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    path = save_figure(figure, tmp_path / "figs" / "line.png")
    assert path == tmp_path / "figs" / "line.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (300, 150)  # 2 x 1 inches at 150 dpi
    assert [p.name for p in path.parent.iterdir()] == ["line.png"]  # no temporary file left behind


def test_save_figure_format_follows_suffix(tmp_path: Path) -> None:
    figure = Figure(figsize=(1, 1))
    assert save_figure(figure, tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError):
        save_figure(figure, tmp_path / "f.unknown")
    assert list(tmp_path.iterdir()) == [tmp_path / "f.svg"]


def test_the_conda_environment_installs_every_dependency() -> None:
    """environment.yml (for conda users) names every package pyproject.toml depends on, with the same pins."""
    import yaml

    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    root = repo_root()
    needed = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    conda = yaml.safe_load((root / "environment.yml").read_text())["dependencies"]
    pip = next(entry["pip"] for entry in conda if isinstance(entry, dict))
    assert sorted(set(needed) - set(pip)) == []
