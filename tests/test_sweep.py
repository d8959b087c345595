"""Sweeps: grid expansion, skipping stored runs, failures recorded, aggregation over seeds, the CLI."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from cobra_lab import sweep
from cobra_lab.cli import main
from cobra_lab.errors import UserError
from cobra_lab.paths import repo_root
from cobra_lab.store import run_id

GRID = {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm"], "modes": ["vanilla", "cobra"],
        "ipc": [2], "seeds": [0, 1], "set": {"eval.epochs": 1}}


def test_expand_takes_the_product_and_drops_duplicates() -> None:
    grid = {**GRID, "data": {"skew": [0.7, 0.9], "gap": 0}, "full": True}
    configs = sweep.expand([grid, grid])
    assert len(configs) == 2 * 2 * (2 + 1)  # seeds x skews x (modes + FULL), the repeat dropped
    assert len({run_id(c) for c in configs}) == len(configs)
    full = [c for c in configs if c["method"] == "full"]
    assert len(full) == 4 and all(c["eval"]["epochs"] == 1 for c in full)
    assert {c["data"]["skew"] for c in configs} == {0.7, 0.9}


@pytest.mark.parametrize("grid, message", [
    ({**GRID, "dataset": ["x"]}, "unknown grid key 'dataset'"),
    ({**GRID, "data": {"skw": 0.9}}, "unknown data key 'skw'"),
    ({**GRID, "modes": ["cobbra"]}, "cobbra"),
    ({**GRID, "set": {"distill.iters": 3}}, "distill.iters"),
])
def test_bad_grids_are_one_line_errors(grid: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        sweep.expand(grid)


def test_run_grid_stores_skips_and_aggregates(tmp_path: Path) -> None:
    first = sweep.run_grid(GRID, root=tmp_path, progress=False)
    assert len(first) == 4 and (first["status"] == "done").all() and not first["cached"].any()
    assert first["eval.epochs"].eq(1).all()  # the grid's knob is a column
    again = sweep.run_grid(GRID, root=tmp_path, progress=False)
    assert again["cached"].all()
    pd.testing.assert_series_equal(first["acc"], again["acc"])
    summary = sweep.aggregate(first)
    assert list(summary["mode"]) == ["vanilla", "cobra"] and (summary["seeds"] == 2).all()
    vanilla = first[first["mode"] == "vanilla"]["acc"]
    assert summary.loc[0, "acc"] == pytest.approx(vanilla.mean())
    assert summary.loc[0, "acc_std"] == pytest.approx(vanilla.std())


def test_a_failed_run_is_recorded_and_the_others_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = sweep.run_one

    def flaky(config, root, progress):
        if config["mode"] == "cobra":
            raise RuntimeError("out of memory")
        return real(config, root, progress)

    monkeypatch.setattr(sweep, "run_one", flaky)
    table = sweep.run_grid({**GRID, "seeds": [0], "modes": ["cobra", "vanilla"]}, root=tmp_path, progress=False)
    failed = table[table["status"] == "failed"]
    assert len(failed) == 1 and failed["error"].iloc[0] == "RuntimeError: out of memory"
    assert (table.drop(failed.index)["status"] == "done").all()
    assert list(sweep.aggregate(table)["mode"]) == ["vanilla"]  # only finished runs are aggregated


def test_worker_processes_give_the_same_results(tmp_path: Path) -> None:
    grid = {**GRID, "seeds": [0]}
    serial = sweep.run_grid(grid, root=tmp_path / "a", progress=False)
    pooled = sweep.run_grid(grid, workers=2, root=tmp_path / "b", progress=False)
    assert (pooled["status"] == "done").all()
    pd.testing.assert_series_equal(serial["acc"], pooled["acc"])


def test_cli_sweep_on_a_grid_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("grid:\n  profile: smoke\n  datasets: [cdigits_bg]\n  modes: [vanilla]\n  ipc: 2\n"
                    "  set: {eval.epochs: 1}\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--csv", str(tmp_path / "rows.csv"),
                 "--quiet"]) == 0
    assert "vanilla" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "rows.csv")) == 1
    assert main(["sweep", str(path), "--param", "ipcc=3"]) == 2
    assert "has no entry 'ipcc'" in capsys.readouterr().err


def test_cli_sweep_on_a_study_file_with_overrides(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["sweep", str(repo_root() / "params" / "00_quickstart.yaml"), "--param", "profile=smoke",
                 "--param", "modes=[cobra]", "--param", "ipc=2", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    assert "cobra" in capsys.readouterr().out
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_runs_sharing_a_distilled_set_go_to_one_worker() -> None:
    configs = sweep.expand([{**GRID, "seeds": [0], "set": {"eval.arch": [None, "alexnet"]}},
                            {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["full"]}])
    groups = sweep._sharing_groups(configs, list(range(len(configs))))
    modes = [{config["mode"] for _, config in group} for group in groups]
    assert sorted(len(group) for group in groups) == [1, 2, 2] and {"vanilla"} in modes and {None} in modes
    assert all(len({config["eval"]["arch"] for _, config in group}) == len(group) for group in groups)


def test_a_serial_sweep_shows_each_run_s_distillation_and_evaluation_bars(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture) -> None:
    sweep.run_grid({**GRID, "seeds": [0], "modes": ["cobra"]}, root=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "sweep:" in err and "distill dm/cobra" in err and "evaluate" in err  # the run's bars, not only the sweep's


def test_make_demo_s_sweep_computes_the_runs_its_notebook_reads() -> None:
    from cobra_lab.studies import grids_from_file, quickstart

    params = yaml.safe_load((repo_root() / "params" / "00_quickstart.yaml").read_text())
    notebook = quickstart.grid(params["profile"], params["dataset"], params["method"], params["modes"],
                               params["ipc"], params["seed"], params["skew"], params["gap"])
    swept = grids_from_file(repo_root() / "params" / "00_quickstart.yaml")
    assert [run_id(config) for config in sweep.expand(swept)] == [run_id(config) for config in sweep.expand(notebook)]
    assert "cobra-lab sweep params/00_quickstart.yaml" in (repo_root() / "Makefile").read_text()
