"""Notebooks: committed clean (no outputs, one parameters cell), and each runs under papermill's smoke profile."""
from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from cobra_lab.paths import repo_root

NOTEBOOKS = sorted((repo_root() / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebook under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "outputs committed"
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "expected exactly one cell tagged 'parameters'"
    assert notebook.metadata.kernelspec.name == "cobra-lab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_with_smoke_profile(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path / "data"))  # the kernel inherits it: repo data/ untouched
    out_dir = tmp_path / "out"
    papermill.execute_notebook(str(path), str(tmp_path / path.name), parameters={"profile": "smoke",
                               "out_dir": str(out_dir)}, kernel_name="python3", cwd=str(repo_root()),
                               progress_bar=False)
    figures = sorted(out_dir.glob("*.png"))
    assert figures, f"{path.name} saved no PNG under out_dir"
    assert all(figure.stat().st_size > 0 for figure in figures)
