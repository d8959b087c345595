"""A store the disk refuses to write (full, over quota, read-only, no permission, folder gone): one line naming the
file, the reason and what was kept, exit 1, no half-written run; the checkpoint stays usable and a rerun gives
the metrics of a clean store. The refusals are raised by the write layer, so they work as root too."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from cobra_lab import io as store_io
from cobra_lab import sweep
from cobra_lab.cli import main
from cobra_lab.errors import StoreWriteFailed

RUN = ["run", "--dataset", "cdigits_bg", "--method", "dm", "--mode", "cobra", "--ipc", "2", "--profile", "smoke",
       "--set", "eval.epochs=1", "--json", "--quiet"]
MTT = ["run", "--dataset", "cdigits_bg", "--method", "mtt", "--mode", "vanilla", "--ipc", "1", "--profile", "smoke",
       "--set", "eval.epochs=1", "--json", "--quiet"]


def refuse(monkeypatch: pytest.MonkeyPatch, name: str, code: int = errno.ENOSPC, after: int = 0) -> None:
    """Make the write layer refuse (with ``code``) every write of a file named ``name`` after the first ``after``."""
    write = store_io._write_then_rename
    seen = {"count": 0}

    def refusing(path: Path, data: bytes) -> Path:
        if path.name == name:
            seen["count"] += 1
            if seen["count"] > after:
                raise OSError(code, os.strerror(code))  # as write() raises it: no file named
        return write(path, data)

    monkeypatch.setattr(store_io, "_write_then_rename", refusing)


def run_cli(argv: list[str], store: Path, capsys: pytest.CaptureFixture) -> tuple[int, dict | None, list[str]]:
    """(exit code, printed metrics or None, stderr lines) of ``cobra-lab <argv> --out store``."""
    code = main([*argv, "--out", str(store)])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err.strip().splitlines()


@pytest.fixture(scope="module")
def clean_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The metrics of RUN in a store that takes every write."""
    store = tmp_path_factory.mktemp("clean")
    assert main([*RUN, "--out", str(store)]) == 0
    return json.loads(next(store.glob("runs/*/metrics.json")).read_text())


def _same_metrics(result: dict, clean: dict) -> None:
    assert {key: result[key] for key in ("acc", "eod_max", "eod_mean")} == \
        {key: clean[key] for key in ("acc", "eod_max", "eod_mean")}


@pytest.mark.parametrize("name, kept", [
    ("checkpoint.pt", "the run resumes from iteration 2 when rerun"),
    ("synset.pt", "the run resumes from iteration 3 when rerun"),
    ("metrics.json", "the distilled set is kept: a rerun only evaluates it"),
    ("config.yaml", "nothing of the run was kept: a rerun starts it afresh"),
])
def test_a_full_disk_is_one_line_and_a_rerun_gives_the_clean_metrics(name, kept, tmp_path, monkeypatch, capsys,
                                                                     clean_metrics):
    refuse(monkeypatch, name, after=2 if name == "checkpoint.pt" else 0)  # checkpoints 1 and 2 are written
    code, _, err = run_cli(RUN, tmp_path, capsys)
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"cobra-lab: error: cannot write {tmp_path}") and f"/{name}: " in err[0]
    assert "No space left on device; the disk is full" in err[0] and err[0].endswith(kept)
    assert not (tmp_path / "runs").exists()  # no half-written run
    assert not list(tmp_path.rglob("*.tmp"))
    monkeypatch.undo()
    code, result, _ = run_cli(RUN, tmp_path, capsys)
    assert code == 0 and not result["cached"]
    _same_metrics(result, clean_metrics)


@pytest.mark.parametrize("code, reason", [
    (errno.EACCES, "no permission to write there"),
    (errno.EROFS, "the file system is read-only"),
    (errno.EDQUOT, "the disk quota is used up"),
    (errno.ENOENT, "its folder was removed while writing"),
])
def test_each_refusal_says_what_to_do(code, reason, tmp_path, monkeypatch, capsys):
    refuse(monkeypatch, "synset.pt", code)
    exit_code, _, err = run_cli(RUN, tmp_path, capsys)
    assert exit_code == 1 and len(err) == 1 and f"; {reason}" in err[0] and "/synset.pt: " in err[0]


def test_the_experts_of_trajectory_matching_are_kept_up_to_the_refused_one(tmp_path, monkeypatch, capsys):
    refuse(monkeypatch, "expert_000.pt")
    code, _, err = run_cli(MTT, tmp_path, capsys)
    assert code == 1 and len(err) == 1 and "/experts/" in err[0] and "/expert_000.pt: No space" in err[0]
    monkeypatch.undo()
    code, result, _ = run_cli(MTT, tmp_path, capsys)
    assert code == 0 and not result["cached"]


def test_a_data_cache_that_cannot_be_written_is_one_warning_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(store_io, "_write_then_rename", _refuse_under(tmp_path / "data", store_io._write_then_rename))
    code, result, err = run_cli(RUN, tmp_path / "store", capsys)
    warnings = [line for line in err if "data cache" in line]
    assert code == 0 and result["acc"] >= 0
    assert warnings and all(line.startswith("cobra-lab: warning: could not write the data cache ") and
                            line.endswith("(No space left on device); continuing without it") for line in warnings)


def _refuse_under(folder: Path, write):
    """A write layer that refuses every file under ``folder`` with ENOSPC."""
    def refusing(path: Path, data: bytes) -> Path:
        if folder in path.parents:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(path, data)
    return refusing


def test_a_sweep_stops_at_a_refused_write_and_its_rows_record_it(tmp_path, monkeypatch, capsys):
    grid = {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm"], "modes": ["vanilla", "cobra"],
            "ipc": [2], "set": {"eval.epochs": 1}}
    refuse(monkeypatch, "synset.pt")
    with pytest.raises(StoreWriteFailed, match=r"^cannot write .*/synset.pt: No space left on device") as stopped:
        sweep.run_grid(grid, root=tmp_path, progress=False)
    rows = stopped.value.rows
    assert list(rows["status"]) == ["failed", "stopped"] and rows["error"].iloc[0] == str(stopped.value)
    sweep_file = tmp_path / "grid.yaml"
    sweep_file.write_text(json.dumps({"grid": grid}))
    csv = tmp_path / "rows.csv"
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path), "--quiet", "--csv", str(csv)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == f"cobra-lab: error: {stopped.value}"
    assert "stopped" in csv.read_text()
