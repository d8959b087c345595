"""The Ray backend of run_grid on a two-node Ray cluster on 127.0.0.1 (started here, stopped after): the same
rows as the local backend, a failed run recorded while the others go on, a killed worker's run retried from its
checkpoint; and the backend's one-line errors (these need no Ray)."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import torch

from cobra_lab import ray_backend, sweep
from cobra_lab.cli import main
from cobra_lab.errors import UserError
from cobra_lab.ray_backend import RayOptions, run_groups
from cobra_lab.store import RunDir

GRID = {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm"], "modes": ["vanilla", "cobra"],
        "ipc": [2], "seeds": [0], "set": {"eval.epochs": 1}}
# A run long enough (a few seconds) to be killed between its first checkpoint and its end.
SLOW = {**GRID, "modes": ["fairdd"], "set": {"eval.epochs": 1, "distill.iterations": 200}}
DIVERGING = {**GRID, "modes": ["vanilla"], "set": {"eval.epochs": 1, "distill.lr_img": 1e30}}
METRICS = ["acc", "acc_std", "eod_mean", "eod_max", "fpr_gap_mean", "fpr_gap_max", "runs"]


@pytest.fixture(scope="module")
def cluster(ray_cluster: str) -> str:
    """The session's two-node Ray cluster on 127.0.0.1."""
    return ray_cluster


def _root(rows: pd.DataFrame) -> Path:
    """The store a table's runs are in."""
    return Path(rows["run_dir"].iloc[0]).parent.parent


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The grid and the slow run through the local backend: the rows the Ray backend must give."""
    return sweep.run_grid([GRID, SLOW], root=tmp_path_factory.mktemp("local"), progress=False)


@pytest.fixture(scope="module")
def ray_rows(cluster: str, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The same grid through the Ray backend, uninterrupted."""
    return sweep.run_grid([GRID, SLOW], root=tmp_path_factory.mktemp("ray"), progress=False, backend="ray",
                          address=cluster)


def test_ray_gives_the_rows_of_the_local_backend(local_rows: pd.DataFrame, ray_rows: pd.DataFrame) -> None:
    assert (ray_rows["status"] == "done").all() and not ray_rows["cached"].any()
    identity = [column for column in local_rows.columns if column not in {*sweep.METRIC_KEYS, "run_dir"}]
    pd.testing.assert_frame_equal(ray_rows[identity + METRICS], local_rows[identity + METRICS])


def test_a_failed_run_is_a_failed_row_and_the_others_go_on(cluster: str, ray_rows: pd.DataFrame) -> None:
    table = sweep.run_grid([GRID, {**DIVERGING, "seeds": [1]}, {**GRID, "seeds": [1], "modes": ["cobra"]}],
                           root=_root(ray_rows), progress=False, backend="ray", address=cluster)
    failed = table[table["status"] == "failed"]
    assert len(failed) == 1 and failed["error"].iloc[0].startswith("UserError: distillation diverged")
    assert (table.drop(failed.index)["status"] == "done").all() and (~table["cached"]).sum() == 2


def test_a_task_that_fails_as_a_whole_fails_each_of_its_runs(cluster: str, tmp_path: Path) -> None:
    groups = sweep._sharing_groups(sweep.expand(GRID), [0, 1])
    fails = os.path.join  # takes (group, root), then raises TypeError in the task: group is not a path
    results = dict(run_groups(fails, groups, str(tmp_path), RayOptions(address=cluster)))
    assert sorted(results) == [0, 1] and all(result["status"] == "failed" for result in results.values())
    assert all(result["error"].startswith("RayTaskError(TypeError): ") and "\n" not in result["error"]
               for result in results.values())


def _kill_after_first_checkpoint(run: RunDir, killed: list[int], timeout: float = 120.0) -> None:
    """SIGKILL the Ray worker running ``run`` (its process title is ray::<run id>) once its checkpoint is on
    disk and before it finishes; the killed pids go to ``killed``."""
    import psutil

    title = f"ray::{run.path.name}"
    deadline = time.time() + timeout
    while time.time() < deadline and not run.finished():
        if run.checkpoint_file.exists():
            for process in psutil.process_iter(["cmdline"]):
                if (process.info["cmdline"] or [""])[0] == title:
                    os.kill(process.pid, signal.SIGKILL)
                    killed.append(process.pid)
            if killed:
                return
        time.sleep(0.01)


def test_a_killed_worker_s_run_resumes_and_equals_an_uninterrupted_one(cluster: str, ray_rows: pd.DataFrame,
                                                                       tmp_path: Path) -> None:
    slow = RunDir(sweep.expand(SLOW)[0], tmp_path)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_after_first_checkpoint, args=(slow, killed), daemon=True)
    killer.start()
    table = sweep.run_grid([GRID, SLOW], root=tmp_path, progress=False, backend="ray", address=cluster)
    killer.join()
    assert killed, "the slow run finished before its worker could be killed"
    assert (table["status"] == "done").all()  # the grid is complete
    log = (slow.path / "log.txt").read_text()
    assert log.count("distilling") == 2 and "resumed at iteration" in log
    pd.testing.assert_frame_equal(table[METRICS], ray_rows[METRICS])
    reference = RunDir(slow.config, _root(ray_rows))
    assert torch.equal(slow.load_synset()["x"], reference.load_synset()["x"])


def test_a_sweep_s_own_cluster_ignores_and_keeps_the_ray_state_left_on_the_machine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    home = tmp_path / "home"
    token = home / ".ray" / "auth_token"
    token.parent.mkdir(parents=True)
    token.write_text("a-token-an-earlier-ray-use-left")  # switched a new cluster's nodes to token checks
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # what an earlier ray.init() leaves in its process
    started: list[tuple[str, set[str]]] = []  # (address, the addresses its port is bound to while it ran)
    real_cluster = ray_backend.local_cluster

    @contextmanager
    def recorded(*args, **kwargs):
        with real_cluster(*args, **kwargs) as address:
            started.append((address, _bound_to(int(address.split(":")[1]))))
            yield address

    monkeypatch.setattr(ray_backend, "local_cluster", recorded)
    table = sweep.run_grid({**GRID, "modes": ["vanilla"]}, root=tmp_path / "store", progress=False, backend="ray")
    assert (table["status"] == "done").all()
    assert os.environ["RAY_AUTH_MODE"] == "token"  # given back as it was
    assert sorted(path.name for path in home.rglob("*")) == [".ray", "auth_token"]  # nothing added
    assert token.read_text() == "a-token-an-earlier-ray-use-left"
    [(address, bound)] = started
    assert address.startswith("127.0.0.1:") and bound  # joined on 127.0.0.1 (Ray's GCS listens on every address)
    assert not _bound_to(int(address.split(":")[1]))  # the cluster it started is gone


def _bound_to(port: int) -> set[str]:
    """The addresses a listening TCP socket of ``port`` is bound to on this machine."""
    import psutil

    return {conn.laddr.ip for conn in psutil.net_connections("tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port}


def test_ray_missing_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(UserError, match=r"needs Ray, which is not installed: pip install -e '\.\[ray\]'"):
        sweep.run_grid(GRID, root=tmp_path, backend="ray")
    path = tmp_path / "grid.yaml"
    path.write_text("grid:\n  profile: smoke\n  datasets: [cdigits_bg]\n  ipc: 2\n")
    assert main(["sweep", str(path), "--backend", "ray", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cobra-lab: error: the ray backend needs Ray") and err.count("\n") == 1


@pytest.mark.parametrize("options, message", [
    ({"backend": "spark"}, "unknown backend 'spark'"),
    ({"gpus_per_run": 0.25}, "options of the ray backend"),
    ({"backend": "ray", "workers": 2}, "workers sizes the local pool"),
    ({"backend": "ray", "gpus_per_run": 1.5}, "gpus_per_run must be >= 0, a fraction up to 1 or a whole number"),
    ({"backend": "ray", "cpus_per_run": 0}, "cpus_per_run must be > 0"),
])
def test_bad_backend_options_are_one_line_errors(options: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=message):
        sweep.run_grid(GRID, root=tmp_path, **options)
