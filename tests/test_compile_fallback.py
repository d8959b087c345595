"""Compilation never breaks a run: a cache left with truncated shared objects is swept and rebuilt, and a failed
compilation (no C++ compiler, any codegen error) falls back to eager with one warning line."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_fixtures import random_grouped_data, smoke_config

from cobra_lab.accel import compiled
from cobra_lab.cli import main
from cobra_lab.loops import distill

# a compiled DM smoke run cut to one step of a one-layer net: the fewest kernels that still compile every pass
RUN = ["run", "--dataset", "cdigits_bg", "--method", "dm", "--mode", "cobra", "--ipc", "1", "--profile", "smoke",
       "--set", "net.depth=1", "--set", "distill.iterations=1", "--set", "eval.epochs=1", "--json", "--quiet"]
COMPILED = ["--set", "distill.compile=true"]


def started(args: list[str], out: Path, cache: Path, **env: str) -> subprocess.Popen:
    """``cobra-lab <args> --out <out>`` started in a fresh process compiling into ``cache``."""
    environment = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache), **env}
    return subprocess.Popen([sys.executable, "-m", "cobra_lab.cli", *args, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    """What a ``started`` process printed, once it has ended."""
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def cli(args: list[str], out: Path, cache: Path, **env: str) -> subprocess.CompletedProcess:
    """``cobra-lab <args> --out <out>`` in a fresh process compiling into ``cache``."""
    return finished(started(args, out, cache, **env))


def metrics_of(done: subprocess.CompletedProcess) -> dict:
    """The stored-result fields of a ``--json`` run (not its timings or folder)."""
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    return {key: value for key, value in metrics.items() if "seconds" not in key and key not in ("cached", "run_dir")}


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("cobra-lab: warning:")]


@pytest.fixture(scope="module")
def run_without_compiler(tmp_path_factory: pytest.TempPathFactory):
    """The compiled run with CXX naming no compiler, started in the background (beside the compiling run, which
    keeps one core busy tracing): its process."""
    folder = tmp_path_factory.mktemp("no_compiler")
    process = started(RUN + COMPILED, folder / "out", folder / "cache", CXX=str(folder / "no-such-g++"))
    yield process
    if process.poll() is None:  # its test did not run
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def compiled_run(tmp_path_factory: pytest.TempPathFactory, run_without_compiler) -> tuple[Path, dict, str]:
    """One compiled smoke run into an empty compiler cache: the cache folder, the run's metrics and its stderr
    (the run without a compiler is started first, so the two run side by side)."""
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("no C++ compiler here: nothing compiles, so no cache to damage")
    folder = tmp_path_factory.mktemp("compiled_run")
    done = cli(RUN + COMPILED, folder / "out", folder / "cache")
    assert not warnings_in(done.stderr), done.stderr
    return folder / "cache", metrics_of(done), done.stderr


def test_a_quiet_compiled_run_prints_no_compiler_log_lines(compiled_run):
    *_, stderr = compiled_run
    assert stderr == "", stderr  # e.g. inductor's "No CUDA runtime is found" beside a CUDA toolkit


def test_a_cache_with_truncated_shared_objects_is_rebuilt_and_gives_the_same_metrics(compiled_run, tmp_path):
    cache, before, _ = compiled_run
    objects = sorted(cache.rglob("*.so"))
    assert objects, "the compiled run left no shared objects in its cache"
    for path in objects:
        path.write_bytes(b"")  # what a run killed while the compiler writes leaves behind
    done = cli(RUN + COMPILED, tmp_path / "out", cache)
    assert metrics_of(done) == before
    assert [line for line in warnings_in(done.stderr) if "truncated" in line]
    assert not [line for line in warnings_in(done.stderr) if "compiling failed" in line]
    assert all(path.stat().st_size > 0 for path in cache.rglob("*.so"))


def test_without_a_cxx_compiler_a_compiled_run_falls_back_to_eager(run_without_compiler, tmp_path, capsys):
    done = finished(run_without_compiler)
    fallback = metrics_of(done)
    assert len(warnings_in(done.stderr)) == 1 and "compiling failed" in done.stderr, done.stderr
    assert main(RUN + ["--out", str(tmp_path / "eager")]) == 0
    eager = json.loads(capsys.readouterr().out)
    assert fallback == {key: eager[key] for key in fallback}  # the same run id, the same numbers


def _so_file() -> Path:
    """A whole shared object to test the check on (one of torch's own)."""
    return next(Path(torch.__file__).parent.glob("lib/*.so*"))


def test_truncated_objects_are_told_from_whole_ones(tmp_path):
    whole = _so_file().read_bytes()
    for name, content in [("whole.so", whole), ("empty.so", b""), ("half.so", whole[: len(whole) // 2]),
                          ("text.so", b"not an object")]:
        (tmp_path / name).write_bytes(content)
    assert [compiled.truncated_object(tmp_path / n) for n in ("whole.so", "empty.so", "half.so", "text.so")] == \
        [False, True, True, True]


def test_the_sweep_removes_truncated_objects_but_not_one_being_built(tmp_path):
    from filelock import FileLock

    whole = _so_file().read_bytes()
    (tmp_path / "ab").mkdir()
    for name in ("ckeep.so", "cbuilding.main.so", "cbroken.main.so", "cbroken.o"):
        (tmp_path / "ab" / name).write_bytes(whole if name == "ckeep.so" else b"")
    with FileLock(str(tmp_path / "locks" / "cbuilding.lock")):
        removed = compiled.sweep_cache(tmp_path)
    assert sorted(p.name for p in removed) == ["cbroken.main.so", "cbroken.o"]
    assert sorted(p.name for p in (tmp_path / "ab").iterdir()) == ["cbuilding.main.so", "ckeep.so"]


@pytest.fixture
def broken_compiler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> set[str]:
    """``torch.compile`` whose functions raise for the names given (all when none), with fresh compile state."""
    failing: set[str] = set()

    def fake_compile(function, dynamic=False):
        def call(*args):
            if not failing or function.__name__ in failing:
                raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found")
            return function(*args)
        return call

    monkeypatch.setattr(compiled.torch, "compile", fake_compile)
    monkeypatch.setattr(compiled, "_COMPILED", {})
    monkeypatch.setattr(compiled, "_STATE", {"cache": None, "failure": None})
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "cache"))
    return failing


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_a_failed_compilation_distills_what_eager_distills_with_one_warning(method, broken_compiler, capsys):
    data = random_grouped_data()
    eager = distill(data, smoke_config(method, "cobra", compile=False), progress=False)
    fallback = distill(data, smoke_config(method, "cobra", compile=True), progress=False)
    assert torch.equal(fallback.x, eager.x)
    assert len(warnings_in(capsys.readouterr().err)) == 1 and compiled.compilation_failed()


def test_a_failed_backward_compilation_falls_back_inside_the_step(broken_compiler, capsys):
    broken_compiler.add("images_gradient")  # DC's compiled forward works, its compiled image gradient fails
    data = random_grouped_data()
    eager = distill(data, smoke_config("dc", "cobra", compile=False), progress=False)
    fallback = distill(data, smoke_config("dc", "cobra", compile=True), progress=False)
    torch.testing.assert_close(fallback.x, eager.x, rtol=1e-4, atol=1e-5)
    assert len(warnings_in(capsys.readouterr().err)) == 1

