"""``cobra-lab data ...``: describe (JSON and table), show, list, and one-line errors with exit code 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cobra_lab.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_proportions(info: dict, skew: float) -> None:
    train = torch.tensor(info["train"]["counts"], dtype=torch.float64)  # [class, group]
    share = train / train.sum(1, keepdim=True)
    assert ((share.diag() - skew).abs() <= 0.005).all()
    assert ((share[~torch.eye(10, dtype=torch.bool)] - (1 - skew) / 9).abs() <= 0.003).all()
    test = torch.tensor(info["test"]["counts"], dtype=torch.float64)
    assert ((test - test.mean()).abs() <= 0.1 * test.mean()).all()


def test_describe_json_cfmnist_bg(capsys, session_data_root: Path, cfmnist_bg) -> None:
    code, out, err = run(capsys, "data", "describe", "cfmnist_bg", "--skew", "0.9", "--json",
                         "--root", str(session_data_root))
    assert code == 0 and err == ""
    info = json.loads(out)
    check_proportions(info, 0.9)
    assert info["params"]["skew"] == 0.9 and info["train"]["size"] == 60000


def test_describe_json_cdigits_bg_subprocess(isolated_data_root: Path) -> None:
    env = {**os.environ, "COBRA_LAB_DATA": str(isolated_data_root)}
    done = subprocess.run([sys.executable, "-m", "cobra_lab.cli", "data", "describe", "cdigits_bg", "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    check_proportions(json.loads(done.stdout), 0.9)


def test_describe_table(capsys, isolated_data_root: Path) -> None:
    code, out, _ = run(capsys, "data", "describe", "cdigits_fg", "--skew", "0.5", "--group-noise", "0.1")
    assert code == 0
    assert "skew=0.5" in out and "class \\ group" in out and "pale yellow" in out
    assert "observed groups equal the true group for 90.00% of train images" in out
    row = next(line for line in out.splitlines() if line.startswith("0 "))
    assert row.split()[1:3] == ["45", "5"]  # class 0: 45 red, 5 orange


def test_show_writes_image(capsys, isolated_data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "figs" / "grid.png"
    code, stdout, _ = run(capsys, "data", "show", "cdigits_bg", "--gap", "2", "--split", "test", "--out", str(out))
    assert code == 0 and str(out) in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["grid.png"]  # no temporary file left behind


def test_list(capsys) -> None:
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and "cfmnist_bg" in out.split()


@pytest.mark.parametrize("argv, needles", [
    (["nope"], ["unknown dataset 'nope'", "cmnist_fg"]),
    (["cdigits_bg", "--skew", "0.05"], ["skew", "[0.1, 1]", "0.05"]),
    (["cdigits_bg", "--gap", "5"], ["gap", "0..4", "got 5"]),
    (["cdigits_bg", "--gap", "1.5"], ["gap", "0..4", "got 1.5"]),
    (["cdigits_bg", "--group-noise", "1.5"], ["group-noise", "[0, 1]", "1.5"]),
    (["cdigits_bg", "--known-groups", "-0.1"], ["known-groups", "[0, 1]", "-0.1"]),
    (["cdigits_bg", "--known-groups", "0"], ["known-groups must be > 0"]),
    (["cdigits_bg", "--semantic-gap", "-2"], ["semantic-gap", "got -2"]),
    (["utkface", "--skew", "0.9"], ["natural skew"]),
])
def test_bad_values_one_line_exit_2(capsys, isolated_data_root: Path, tmp_path: Path, argv: list[str],
                                    needles: list[str]) -> None:
    out = tmp_path / "x.png"
    code, stdout, err = run(capsys, "data", "show", *argv, "--out", str(out))
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("cobra-lab: error: ")
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists()


def test_missing_data_folder(capsys, isolated_data_root: Path, tmp_path: Path, offline: None) -> None:
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "data", "show", "cmnist_fg", "--out", str(out))
    assert code == 2 and err.count("\n") == 1
    assert str(isolated_data_root / "MNIST" / "raw") in err and "train-images-idx3-ubyte(.gz)" in err
    assert not out.exists()


def test_corrupt_data_file(capsys, tiny_mnist_root: Path, tmp_path: Path) -> None:
    labels = tiny_mnist_root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    labels.write_bytes(b"\x00\x00\x08")  # truncated header
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "data", "describe", "cmnist_bg", "--json")
    assert code == 2 and err.count("\n") == 1 and "unreadable" in err and str(labels.parent) in err
    code, _, err = run(capsys, "data", "show", "cmnist_bg", "--out", str(out))
    assert code == 2 and not out.exists()


def test_bad_output_suffix(capsys, isolated_data_root: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "data", "show", "cdigits_bg", "--out", str(tmp_path / "grid.txt"))
    assert code == 2 and err.count("\n") == 1 and ".png" in err
    assert not (tmp_path / "grid.txt").exists() and not (isolated_data_root / "cache").exists()


def test_argparse_errors_exit_2(capsys) -> None:
    assert main(["data", "describe"]) == 2
    assert main(["data", "describe", "cdigits_bg", "--skew", "abc"]) == 2
    assert main(["data", "show", "cdigits_bg"]) == 2  # --out is required
    assert main(["--help"]) == 0
