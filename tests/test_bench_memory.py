"""benchmarks/bench_memory.py: each setting's processes get its COBRA_LAB_KEEP_MEMORY, and the summary line."""
import json
import re

import pytest
from benchmark_scripts import load_script


@pytest.fixture(scope="module")
def bench_memory():
    return load_script("bench_memory")


def test_each_setting_is_timed_in_its_own_processes_and_summarised(bench_memory, monkeypatch, tmp_path, capsys):
    seconds = {"0": 2.0, "1": 1.5}  # by the children's COBRA_LAB_KEEP_MEMORY
    monkeypatch.setattr(bench_memory, "dm_step_seconds", lambda steps, keep: seconds[keep])
    monkeypatch.setattr(bench_memory, "eval_epoch_seconds", lambda path, epochs, keep: seconds[keep] / 2)
    out = tmp_path / "memory.json"
    assert bench_memory.main(["--rounds", "2", "--json", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "kept/default dm_step=0.750 eval_sequential=0.750 eval_ensemble=0.750"
    recorded = json.loads(out.read_text())
    assert recorded["seconds"]["default"]["dm_step"] == [2.0, 2.0]
    assert recorded["seconds"]["kept"]["eval_ensemble"] == [0.75, 0.75]


def test_the_dm_step_is_read_from_bench_step(bench_memory, monkeypatch):
    run_script, seen = bench_memory.run_script, []

    def small(name: str, options: list[str], keep: str) -> str:  # bench_step.py's own options: a tiny net, eager
        seen.append(options)
        return run_script(name, [*options, "--width", "8", "--real-per-class", "4", "--ipc", "1", "--no-compile"],
                          keep)

    monkeypatch.setattr(bench_memory, "run_script", small)
    seconds = bench_memory.dm_step_seconds(1, "1")
    assert 0 < seconds < 60
    assert seen[0][:4] == ["--profile", "quick", "--methods", "dm"]


def test_bad_counts_give_one_line(bench_memory, capsys):
    with pytest.raises(SystemExit):
        bench_memory.main(["--steps", "0"])
    assert re.search(r"error: --rounds, --steps and --epochs must be at least 1", capsys.readouterr().err)


def test_a_child_gets_its_settings_variable(bench_memory, monkeypatch):
    seen = []

    def child(command, what, env):
        seen.append(env["COBRA_LAB_KEEP_MEMORY"])
        return '{"epoch_s": 0.25}'

    monkeypatch.setattr(bench_memory, "child_last_line", child)
    assert bench_memory.eval_epoch_seconds("sequential", 1, "0") == 0.25
    assert seen == ["0"]
