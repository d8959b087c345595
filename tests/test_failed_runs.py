"""A grid whose runs all fail (here: a face benchmark without its folder) is shown as a table of failed runs, in
a notebook too, not as an exception."""
from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from cobra_lab.paths import repo_root
from cobra_lab.studies.figures import results_bars
from cobra_lab.studies.main_table import grid as main_table
from cobra_lab.studies.tables import failures, results_table, show_failures, summary_sentence
from cobra_lab.sweep import aggregate, run_grid


@pytest.fixture
def failed_grid(isolated_data_root: Path, tmp_path: Path):
    """The results of a smoke grid on utkface with no UTKFace folder: every run fails."""
    return run_grid(main_table("smoke", ["utkface"], ["dm"], ["vanilla", "cobra"], [10], [0], None, True),
                    root=tmp_path / "store", progress=False)


def test_failures_name_each_run_and_its_error(failed_grid, isolated_data_root):
    table = failures(failed_grid)
    assert list(table.columns) == ["run", "error"] and len(table) == 5  # two modes, two baselines, FULL
    assert sorted(table["run"]) == sorted(failed_grid["run_id"]) and table["run"].str.startswith("utkface-").all()
    assert table["error"].str.contains(str(isolated_data_root / "UTKFace"), regex=False).all()
    assert show_failures(failed_grid).empty


def test_tables_and_figures_of_no_finished_run_say_so(failed_grid):
    agg = aggregate(failed_grid)
    assert agg.empty
    table, _ = results_table(agg, rows=["dataset", "ipc"])
    assert table.empty and summary_sentence(agg) == "No finished runs to read."
    assert "no finished runs" in results_bars(agg).axes[0].texts[0].get_text()


def test_a_notebook_whose_runs_all_failed_shows_them_as_a_table(tmp_path, monkeypatch, isolated_data_root):
    monkeypatch.setenv("COBRA_LAB_OUTPUTS", str(tmp_path / "store"))
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(str(repo_root() / "notebooks" / "01_main_table.ipynb"), str(out),
                               parameters={"profile": "smoke", "datasets": ["utkface"], "out_dir": str(tmp_path)},
                               kernel_name="python3", cwd=str(repo_root()), progress_bar=False)
    html = [output.data["text/html"] for cell in nbformat.read(out, as_version=4).cells if cell.cell_type == "code"
            for output in cell.outputs if "text/html" in output.get("data", {})]
    assert any("6 of 6 runs failed" in page and "UTKFace" in page for page in html)
    assert (tmp_path / "table1.png").stat().st_size > 0
