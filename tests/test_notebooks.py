"""Notebooks: committed clean (no outputs, one parameters cell matching params/<name>.yaml), and each runs under
papermill with the smoke profile, writing its tables (CSV) and figures (PNG) and showing every figure as an image."""
from __future__ import annotations

import ast
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
import yaml
from data_needs import fashion_mnist_missing, uses_fashion_mnist

from cobra_lab import claims, plots, studies
from cobra_lab.accel.cores import usable_cores
from cobra_lab.notebook_run import KERNEL_QUIET
from cobra_lab.paths import repo_root
from cobra_lab.reproduction.plan import spec as reproduction_spec

NOTEBOOKS = sorted((repo_root() / "notebooks").glob("*.ipynb"))
# Smaller grids for the suite's time budget: the same code paths, fewer settings (the defaults also run under
# the smoke profile, only slower).
SMOKE_OVERRIDES = {"01_main_table": {"modes": ["vanilla", "cobra"]},
                   "02_skew_gap": {"skews": [0.7, 0.9], "gaps": [0, 2], "full": False},
                   "03_semantic_gap": {"gammas": [1, 4], "full": False},
                   "04_label_noise": {"rhos": [0.2], "dilution_images": 3000}, "05_partial_labels": {"etas": [0.5]},
                   "06_tsne": {"points": 120, "modes": ["vanilla", "cobra"]},
                   "09_discrepancy": {"discrepancies": ["sq", "l2"]},
                   "10_cross_arch": {"archs": ["convnet", "alexnet"], "modes": ["vanilla", "cobra"], "ipc": 1},
                   "11_low_ipc": {"ipcs": [1]},
                   "08_residuals": {"per_cell": 16},
                   "13_overhead": {"groups": [2], "memory": False, "dataset": "cdigits_bg",
                                   "natural_datasets": ["cdigits_bg", "bffhq"]},
                   "12_interventions": {"compared": ["vanilla", "RF", "DF", "MF"]}}
SMOKE_OVERRIDES["16_reproduction"] = {"studies": ["09"],  # one study, with its notebook's smaller grid
                                      "overrides": {"09_discrepancy": SMOKE_OVERRIDES["09_discrepancy"]},
                                      "seed_check": False}  # the seed reruns: tests/test_reproduction.py
# A cell draws a figure when it calls a figure-building function of cobra_lab.plots or of a study module (or
# cobra_lab.studies.figures), saves one, or shows the explorer.
FIGURE_MODULES = [plots, *(module for module in vars(studies).values()
                          if getattr(module, "__name__", "").startswith("cobra_lab.studies."))]
FIGURE_MAKERS = sorted({name for module in FIGURE_MODULES for name, function in vars(module).items()
                        if getattr(function, "__annotations__", {}).get("return") == "Figure"}
                       | {"save_figure", "SkewGapExplorer"})
NOTEBOOKS_AT_ONCE = 2  # notebooks executed side by side
CLAIMED = {claim.study for claim in claims.registry()}  # the notebooks that check the paper's claims
FIGURE_CALL = re.compile(rf"\b({'|'.join(FIGURE_MAKERS)})\(")
FIGURE_REPR = re.compile(r"<Figure size \d+(\.\d+)?x\d+(\.\d+)? with \d+ Axes>")
WRITES_TABLES = {"00_quickstart", "01_main_table", "02_skew_gap", "03_semantic_gap", "04_label_noise",
                 "05_partial_labels", "06_tsne", "08_residuals", "09_discrepancy", "10_cross_arch", "11_low_ipc",
                 "12_interventions", "13_overhead", "14_mtt"}


def parameters(path: Path) -> dict:
    """The names and default values of a notebook's parameters cell."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body}


def test_every_study_has_its_notebook_and_parameter_file() -> None:
    from cobra_lab.studies import STUDIES

    names = {path.stem for path in NOTEBOOKS}
    assert names >= set(STUDIES.names()), sorted(set(STUDIES.names()) - names)
    assert all((repo_root() / "params" / f"{name}.yaml").is_file() for name in names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "outputs committed"
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "expected exactly one cell tagged 'parameters'"
    assert notebook.metadata.kernelspec.name == "cobra-lab"
    assert "Quick-profile run time" in notebook.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameter_file_matches(path: Path) -> None:
    """params/<name>.yaml holds exactly the notebook's parameters, with the same defaults."""
    stored = yaml.safe_load((repo_root() / "params" / f"{path.stem}.yaml").read_text())
    assert stored == parameters(path)


def needs_fashion_mnist(path: Path) -> bool:
    """Whether a notebook runs Fashion-MNIST benchmarks (the reproduction: on its stand-in)."""
    return uses_fashion_mnist({"dataset": reproduction_spec()["stand_in"]} if path.stem == "16_reproduction"
                              else parameters(path))


def needing_data(paths: list[Path]) -> list:
    """The notebooks as test parameters, those that run Fashion-MNIST benchmarks marked as needing its files."""
    return [pytest.param(path, marks=[pytest.mark.requires_fashion_mnist] if needs_fashion_mnist(path) else [])
            for path in paths]


def execute(path: Path, folder: Path) -> tuple[Path, Path, nbformat.NotebookNode]:
    """Run notebook ``path`` under papermill with the smoke profile into ``folder``: its path, its out_dir and the
    executed copy."""
    out_dir = folder / "out"
    parameters = {"profile": "smoke", "out_dir": str(out_dir), **SMOKE_OVERRIDES.get(path.stem, {})}
    papermill.execute_notebook(str(path), str(folder / path.name), parameters=parameters, kernel_name="python3",
                               cwd=str(repo_root()), progress_bar=False, extra_arguments=KERNEL_QUIET)
    return path, out_dir, nbformat.read(folder / path.name, as_version=4)


def collected_notebooks(items: list[pytest.Item]) -> list[Path]:
    """The notebooks the collected tests execute, in test order, less those that skip for want of data."""
    wanted = [item.callspec.params["executed"] for item in items
              if item.path == Path(__file__) and "executed" in getattr(item, "fixturenames", ())]
    missing = fashion_mnist_missing()
    return [path for path in dict.fromkeys(wanted) if not (missing and needs_fashion_mnist(path))]


@pytest.fixture(scope="module")
def executions(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, study_env: Path):
    """The collected notebooks started under papermill, NOTEBOOKS_AT_ONCE at a time (a kernel's start and imports
    keep one core busy), each kernel with its share of the cores as torch threads (more would make the threads of
    side-by-side kernels wait for each other): a future of ``execute``'s result per notebook name."""
    patch = pytest.MonkeyPatch()
    patch.setenv("OMP_NUM_THREADS", str(max(1, usable_cores() // NOTEBOOKS_AT_ONCE)))
    with ThreadPoolExecutor(NOTEBOOKS_AT_ONCE) as pool:
        futures = {path.stem: pool.submit(execute, path, tmp_path_factory.mktemp(path.stem))
                   for path in collected_notebooks(request.session.items)}
        yield futures
        for future in futures.values():
            future.cancel()
    patch.undo()


@pytest.fixture(scope="module", params=needing_data(NOTEBOOKS), ids=lambda p: p.stem)
def executed(request: pytest.FixtureRequest, executions: dict[str, Future]):
    """A notebook run once under papermill with the smoke profile: its path, its out_dir and the executed copy."""
    return executions[request.param.stem].result()


def test_runs_with_smoke_profile(executed) -> None:
    path, out_dir, _ = executed
    figures = sorted(out_dir.glob("*.png"))
    assert figures, f"{path.name} saved no PNG under out_dir"
    assert all(figure.stat().st_size > 0 for figure in figures)
    if path.stem in WRITES_TABLES:
        tables = sorted(out_dir.glob("*.csv"))
        assert tables and all(len(t.read_text().splitlines()) > 1 for t in tables), "no table with rows written"
    if path.stem in CLAIMED:  # the paper's claims about the study, each with a verdict
        written = pd.read_csv(out_dir / "claims.csv", keep_default_na=False)
        assert len(written) == len(claims.study_claims(path.stem)) and list(written.columns) == claims.COLUMNS
        assert set(written["verdict"]) <= set(claims.VERDICTS)
        assert all(why for verdict, why in zip(written["verdict"], written["why"]) if verdict == "not measured")


def test_figures_reach_the_page_as_images(executed) -> None:
    """No output is a figure's bare text repr, and every cell that draws a figure shows a PNG."""
    path, _, notebook = executed
    drawing = [cell for cell in notebook.cells if cell.cell_type == "code" and FIGURE_CALL.search(cell.source)]
    assert drawing, f"{path.name} draws no figure"
    for cell in notebook.cells:
        texts = [output.get("text", "") for output in cell.get("outputs", [])] + \
            [output.get("data", {}).get("text/plain", "") for output in cell.get("outputs", [])]
        assert not any(FIGURE_REPR.search(text) for text in texts), f"a figure shown as text in:\n{cell.source}"
    for cell in drawing:
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), \
            f"no PNG output from the cell:\n{cell.source}"
