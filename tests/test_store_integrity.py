"""A damaged store never blocks or lies: each kind of stored file is truncated, emptied, altered or swapped for a
valid file that does not match the config; the rerun warns once, moves the file aside and recomputes the same
result. Also: resuming says so, and two processes on one store compute a run once."""
from __future__ import annotations

import json
import multiprocessing
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cobra_lab import sweep
from cobra_lab.config import resolve
from cobra_lab.data.cache import cached
from cobra_lab.integrity import digest, remove_checked, sidecar
from cobra_lab.methods import METHODS
from cobra_lab.runner import run_one
from cobra_lab.store import RunDir

CONFIG = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"eval.epochs": 1})
GRID = {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm"], "modes": ["cobra"], "ipc": [2],
        "set": {"eval.epochs": 1}}


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "data"


@pytest.fixture(autouse=True)
def shared_data(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRA_LAB_DATA", str(data_root))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A store holding CONFIG's finished run, computed once without interruption."""
    root = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COBRA_LAB_DATA", str(data_root))
        run_one(CONFIG, root, progress=False)
    return root


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A store holding CONFIG's run killed after two of its four distillation iterations (checkpoint.pt)."""
    root = tmp_path_factory.mktemp("interrupted")
    method = METHODS.get("dm")
    original, calls = method.prepare, {"n": 0}

    def dying_prepare(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed()
        return original(self, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COBRA_LAB_DATA", str(data_root))
        patch.setattr(method, "prepare", dying_prepare)
        with pytest.raises(Killed):
            run_one(CONFIG, root, progress=False)
    run = RunDir(CONFIG, root)
    assert run.checkpoint_file.is_file() and not run.synset_file.exists() and not run.metrics_file.exists()
    return root


def copy_store(source: Path, tmp_path: Path) -> RunDir:
    shutil.copytree(source, tmp_path / "store")
    return RunDir(CONFIG, tmp_path / "store")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def rewrite(path: Path, change, keep_checksum: bool) -> None:
    """Replace the content with a valid file changed by ``change``; with ``keep_checksum`` the checksum is
    updated too, so only the checks against the config can tell."""
    if path.suffix == ".pt":
        state = torch.load(path, weights_only=True)
        change(state)
        torch.save(state, path)
    else:
        obj = json.loads(path.read_text())
        change(obj)
        path.write_text(json.dumps(obj))
    if keep_checksum:
        sidecar(path).write_text(f"{digest(path.read_bytes())}  {path.name}\n")


def set_key(key, value):
    return lambda mapping: mapping.__setitem__(key, value)


DAMAGES = {
    "truncated": truncate,
    "empty": empty,
    "byte flipped": flip_byte,
}
# Valid files whose checksum was updated with them: only the checks against the config catch them.
MISMATCHES = {
    "metrics.json": [("acc as text", set_key("acc", "high")), ("other run's", set_key("run_id", "other")),
                     ("fewer nets", set_key("runs", 7))],
    "timing.json": [("negative", set_key("seconds", -1.0))],
    "synset.pt": [("wrong image shape", set_key("x", torch.zeros(20, 3, 28, 28))),
                  ("wrong labels", set_key("y", torch.arange(20) % 10)),
                  ("non-finite images", lambda s: s["x"].__setitem__((0, 0, 0, 0), float("nan"))),
                  ("wrong number of losses", set_key("losses", torch.zeros(3)))],
}
ALTERED = {  # valid files altered by hand, their checksums left as they were
    "metrics.json": set_key("acc", 99.0),
    "timing.json": set_key("seconds", 1.0),
    "synset.pt": lambda s: s["x"].mul_(1.01),
}


def file_of(run: RunDir, name: str) -> Path:
    return run.synset_dir / name if name.endswith(".pt") else run.path / name


def damage_cases() -> list:
    cases = [(name, label, damage) for name in ("metrics.json", "timing.json", "synset.pt", "config.yaml")
             for label, damage in DAMAGES.items()]
    cases += [(name, f"altered {name}", lambda path, change=change: rewrite(path, change, keep_checksum=False))
              for name, change in ALTERED.items()]
    cases += [(name, label, lambda path, change=change: rewrite(path, change, keep_checksum=True))
              for name, changes in MISMATCHES.items() for label, change in changes]
    return [pytest.param(name, damage, id=f"{name}-{label}") for name, label, damage in cases]


def one_warning(capsys: pytest.CaptureFixture, path: Path) -> str:
    """The one line the rerun wrote to stderr, which must name the damaged file."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("cobra-lab: warning: damaged ") and str(path) in lines[0]
    return lines[0]


@pytest.mark.parametrize("name, damage", damage_cases())
def test_a_damaged_file_is_reported_moved_aside_and_recomputed(name, damage, reference, tmp_path, capsys):
    run = copy_store(reference, tmp_path)
    undamaged = RunDir(CONFIG, reference)
    path = file_of(run, name)
    if name == "synset.pt":  # a finished run is read back without its set: take the run that shares it
        remove_checked(run.metrics_file)
    damage(path)
    damaged_bytes = path.read_bytes()
    capsys.readouterr()
    result = run_one(CONFIG, run.path.parent.parent, progress=False)
    line = one_warning(capsys, path)
    aside = list(path.parent.glob(f"{name}.damaged-*"))
    aside = [p for p in aside if not p.name.endswith(".sha256")]
    assert len(aside) == 1 and aside[0].read_bytes() == damaged_bytes and aside[0].name in line
    if name == "synset.pt":  # distilled again: the same images (its time differs)
        assert torch.equal(torch.load(path, weights_only=True)["x"], undamaged.load_synset()["x"])
    elif name != "timing.json":
        assert path.read_bytes() == file_of(undamaged, name).read_bytes()
    assert run.metrics_file.read_bytes() == undamaged.metrics_file.read_bytes()
    assert result["cached"] == (name == "config.yaml")  # a config is rewritten, results are computed again
    assert f"warning: {line.removeprefix('cobra-lab: warning: ')}" in (run.path / "log.txt").read_text()
    assert run_one(CONFIG, run.path.parent.parent, progress=False)["cached"]  # repaired: read back, silently
    assert capsys.readouterr().err == ""


def test_a_damaged_synset_is_distilled_again_but_a_damaged_metrics_file_is_only_reevaluated(reference, tmp_path,
                                                                                            monkeypatch):
    run = copy_store(reference, tmp_path)
    truncate(run.metrics_file)

    def no_distill(*args, **kwargs):
        raise AssertionError("an intact distilled set was distilled again")

    monkeypatch.setattr("cobra_lab.runner.distill", no_distill)
    assert not run_one(CONFIG, run.path.parent.parent, progress=False)["cached"]


def test_a_sweep_goes_on_past_a_damaged_metrics_file(reference, tmp_path, capsys):
    run = copy_store(reference, tmp_path)
    run.metrics_file.write_text("{\"acc\": ")
    table = sweep.run_grid(GRID, root=run.path.parent.parent, progress=False)
    assert list(table["status"]) == ["done"] and not table["cached"].iloc[0]
    assert table["acc"].iloc[0] == json.loads(RunDir(CONFIG, reference).metrics_file.read_text())["acc"]
    one_warning(capsys, run.metrics_file)


def test_a_resumed_run_says_so_and_ends_as_the_uninterrupted_one(interrupted, reference, tmp_path, capsys):
    run = copy_store(interrupted, tmp_path)
    result = run_one(CONFIG, run.path.parent.parent, progress=True)
    assert "resumed at iteration 2 of 4" in (run.path / "log.txt").read_text()
    assert "resumed at iteration 2 of 4" in capsys.readouterr().err
    assert not result["cached"] and not run.checkpoint_file.exists()
    assert run.synset_file.read_bytes() != b""
    assert run.metrics_file.read_bytes() == RunDir(CONFIG, reference).metrics_file.read_bytes()


CHECKPOINT_MISMATCHES = {
    "iteration past the end": set_key("iteration", 4),
    "iteration zero": set_key("iteration", 0),
    "wrong image shape": set_key("x", torch.zeros(20, 3, 28, 28)),
    "losses of another iteration": set_key("losses", torch.zeros(3)),
    "wrong generator state": set_key("generator", torch.zeros(3, dtype=torch.uint8)),
}


@pytest.mark.parametrize("damage", [
    *[pytest.param(damage, id=label) for label, damage in DAMAGES.items()],
    pytest.param(lambda path: rewrite(path, lambda s: s["x"].mul_(1.01), keep_checksum=False), id="altered"),
    *[pytest.param(lambda path, change=change: rewrite(path, change, keep_checksum=True), id=label)
      for label, change in CHECKPOINT_MISMATCHES.items()],
])
def test_a_damaged_checkpoint_is_moved_aside_and_the_distillation_starts_over(damage, interrupted, reference,
                                                                               tmp_path, capsys):
    run = copy_store(interrupted, tmp_path)
    damage(run.checkpoint_file)
    capsys.readouterr()
    result = run_one(CONFIG, run.path.parent.parent, progress=False)
    line = one_warning(capsys, run.checkpoint_file)
    assert "distilling from the start" in line
    assert len([p for p in run.synset_dir.glob("checkpoint.pt.damaged-*") if p.suffix != ".sha256"]) == 1
    assert "resumed" not in (run.path / "log.txt").read_text()
    assert not result["cached"]
    assert run.metrics_file.read_bytes() == RunDir(CONFIG, reference).metrics_file.read_bytes()


def _run_in_process(root: str, data_root: str, start, results) -> None:
    import os

    os.environ["COBRA_LAB_DATA"] = data_root
    start.wait()
    results.put(run_one(CONFIG, root, progress=False))


def test_two_processes_on_one_store_compute_the_run_once(reference, data_root, tmp_path, capfd):
    """Both start together after the data is cached; one computes, the other waits and reads it back."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_run_in_process, args=(str(tmp_path), str(data_root), start, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(outcome["cached"] for outcome in outcomes) == [False, True]
    assert outcomes[0]["acc"] == outcomes[1]["acc"]
    run = RunDir(CONFIG, tmp_path)
    log = (run.path / "log.txt").read_text()
    assert log.count("distilling") == 1 and log.count(" acc ") == 1, log
    assert run.metrics_file.read_bytes() == RunDir(CONFIG, reference).metrics_file.read_bytes()
    waits = [line for line in capfd.readouterr().err.splitlines() if "waiting for run" in line]
    assert len(waits) == 1 and run.path.name in waits[0]
    assert not (run.path / ".lock").exists() and not (run.synset_dir / ".lock").exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_rerun(reference, tmp_path, capsys):
    run = copy_store(reference, tmp_path)
    remove_checked(run.metrics_file)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # its pid is gone, as a killed run's is
    (run.path / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": finished.pid, "start": 0,
                                                "token": "killed"}))
    result = run_one(CONFIG, run.path.parent.parent, progress=False)
    assert not result["cached"] and not (run.path / ".lock").exists()
    assert run.metrics_file.read_bytes() == RunDir(CONFIG, reference).metrics_file.read_bytes()
    assert "waiting" not in capsys.readouterr().err


@pytest.mark.parametrize("damage", [
    *[pytest.param(damage, id=label) for label, damage in DAMAGES.items()],
    pytest.param(lambda path: rewrite(path, lambda s: s["x"].add_(1), keep_checksum=False), id="altered"),
    pytest.param(lambda path: rewrite(path, lambda s: s.pop("y"), keep_checksum=True), id="missing key"),
])
def test_a_damaged_data_cache_is_rebuilt(damage, tmp_path, capsys):
    built = []

    def build() -> dict[str, torch.Tensor]:
        built.append(1)
        return {"x": torch.arange(12.0).view(3, 4), "y": torch.arange(3)}

    path = tmp_path / "cache" / "tiny.pt"
    first = cached(path, ("x", "y"), build)
    damage(path)
    capsys.readouterr()
    again = cached(path, ("x", "y"), build)
    one_warning(capsys, path)
    assert len(built) == 2 and all(torch.equal(first[key], again[key]) for key in ("x", "y"))
    assert len([p for p in path.parent.glob("tiny.pt.damaged-*") if p.suffix != ".sha256"]) == 1
    cached(path, ("x", "y"), build)
    assert len(built) == 2 and capsys.readouterr().err == ""
