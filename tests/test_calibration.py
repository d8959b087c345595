"""The budget calibration: one distillation per mode stored at every budget, the results file and figure of
benchmarks/calibrate_cpu.py, and the choice of the smallest budget near the paper."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from benchmark_scripts import load_script

from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.runner import load_data
from cobra_lab.store import RunDir
from cobra_lab.studies.calibration import COLUMNS, Ladder, distill_ladder, near_paper, smallest_budget

SMOKE = ["--method", "dm", "--budgets", "3", "1", "--modes", "fairdd", "cobra", "--profile", "smoke",
         "--dataset", "cdigits_bg", "--ipc", "2", "--no-progress"]


@pytest.fixture(scope="module")
def script():
    """benchmarks/calibrate_cpu.py loaded as a module (benchmarks/ is not a package)."""
    return load_script("calibrate_cpu")


def test_the_script_writes_results_and_figure_and_a_rerun_recomputes_nothing(script, tmp_path, capsys):
    store, results = tmp_path / "store", tmp_path / "results" / "calibrate_cpu-dm.json"
    argv = [*SMOKE, "--out", str(store), "--json", str(results)]
    assert script.main(argv) == 0
    first = capsys.readouterr().out.strip().splitlines()
    record = json.loads(results.read_text())
    assert record["bench"] == "calibrate_cpu" and record["method"] == "dm"
    assert record["settings"]["net"]["width"] == 8 and "iterations" not in record["settings"]["distill"]
    assert [(row["mode"], row["budget"]) for row in record["rows"]] == [("fairdd", 1), ("fairdd", 3), ("cobra", 1),
                                                                      ("cobra", 3)]
    assert all(set(COLUMNS) <= set(row) and row["paper_eod_max"] is None for row in record["rows"])
    assert record["smallest_budget_near_paper"] is None  # the paper reports no cdigits_bg cell
    assert results.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(first) == 6 and first[-1] == "smallest budget near the paper: none (the paper reports no cell here)"
    assert all(line.endswith("| no paper cell") for line in first[1:-1])

    ladder = Ladder("dm", (1, 3), "cdigits_bg", 2, profile="smoke", modes=("cobra",))
    short = RunDir(ladder.config("cobra", 1), store)
    alone = distill(load_data(short.config), short.run_config, progress=False)
    assert torch.equal(short.load_synset()["x"], alone.x)  # the snapshot of the 3-iteration run is the 1-iteration set
    assert "distilled set stored from iteration 1 of" in (short.path / "log.txt").read_text()

    stored = {path: path.stat().st_mtime_ns for path in store.rglob("*.json")}
    results.unlink()
    assert script.main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[1:] == first[1:]
    assert {path: path.stat().st_mtime_ns for path in store.rglob("*.json")} == stored
    assert results.exists() and results.with_suffix(".png").exists()


def test_a_bad_ladder_is_a_one_line_error(script, tmp_path):
    with pytest.raises(UserError, match="budgets"):
        Ladder("dm", (0, 5))
    with pytest.raises(UserError, match="distill.iterations"):
        Ladder("dm", (5,), overrides={"distill.iterations": 3})
    with pytest.raises(SystemExit, match="calibrate_cpu: unknown profile 'laptop'"):
        script.main([*SMOKE, "--profile", "laptop", "--out", str(tmp_path)])


def row(mode: str, budget: int, eod: float, acc: float, seconds: float = 10.0, paper=(40.0, 70.0)) -> dict:
    return {"method": "dm", "mode": mode, "budget": budget, "eod_max": eod, "eod_mean": eod / 2, "acc": acc,
            "acc_std": 0.0, "distill_seconds": seconds, "eval_seconds": 5.0, "paper_eod_max": paper[0],
            "paper_acc": paper[1], "run_id": f"{mode}-{budget}"}


def test_the_smallest_budget_needs_every_judged_mode_near_the_paper_in_time():
    table = pd.DataFrame([row("vanilla", 1, 100.0, 20.0), row("fairdd", 1, 59.0, 68.0), row("cobra", 1, 61.0, 70.0),
                          row("fairdd", 2, 50.0, 67.5), row("cobra", 2, 45.0, 66.9),
                          row("fairdd", 3, 55.0, 67.0), row("cobra", 3, 60.0, 67.0),
                          row("fairdd", 4, 30.0, 75.0), row("cobra", 4, 30.0, 75.0)])
    assert near_paper(table).tolist() == [False, True, False, True, False, True, True, True, True]
    assert smallest_budget(table) == 3
    assert smallest_budget(table, time_limit=14.0) is None  # 10 s distill + 5 s evaluation is over it
    unreported = table.assign(paper_eod_max=math.nan, paper_acc=math.nan)
    assert not near_paper(unreported).any() and smallest_budget(unreported) is None
    assert smallest_budget(table[table["mode"] != "cobra"]) is None  # a mode without rows is not near


@pytest.mark.parametrize("method", ["dc", "idc", "cafe"])
def test_each_backbones_snapshot_is_the_shorter_runs_set_with_lr_halving_at_a_fixed_iteration(method, tmp_path):
    ladder = Ladder(method, (2, 3), "cdigits_bg", 2, profile="smoke", modes=("cobra",),
                    overrides={"distill.lr_img_halve_at": [1]})
    distill_ladder(ladder, "cobra", tmp_path, progress=False)
    short = RunDir(ladder.config("cobra", 2), tmp_path)
    alone = distill(load_data(short.config), short.run_config, progress=False)
    assert torch.equal(short.load_synset()["x"], alone.x)
