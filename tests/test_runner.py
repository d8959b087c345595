"""End to end: the run command, the store, the cache and the paper profile."""
import json

import pytest
import yaml

from cobra_lab import runner
from cobra_lab.cli import main
from cobra_lab.config import load_profile, resolve
from cobra_lab.loops import distill
from cobra_lab.runner import load_data, run_one
from cobra_lab.schema import typed

RUN = ["run", "--dataset", "cdigits_bg", "--method", "dm", "--mode", "cobra", "--ipc", "2", "--profile", "smoke",
       "--quiet", "--json"]


@pytest.fixture(autouse=True)
def data_root(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path_factory.getbasetemp() / "data"))


def test_same_command_twice_reads_the_store(tmp_path, capsys, monkeypatch):
    assert main([*RUN, "--out", str(tmp_path)]) == 0
    first = json.loads(capsys.readouterr().out)
    stored = (tmp_path / "runs" / first["run_id"] / "metrics.json").read_bytes()

    def recomputed(*args, **kwargs):
        raise AssertionError("a finished run was recomputed")

    monkeypatch.setattr("cobra_lab.runner.distill", recomputed)
    monkeypatch.setattr(runner, "evaluate", recomputed)
    assert main([*RUN, "--out", str(tmp_path)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["cached"] and not first["cached"]
    assert (tmp_path / "runs" / first["run_id"] / "metrics.json").read_bytes() == stored
    for key in ("acc", "acc_std", "eod_max", "eod_max_std", "eod_mean", "eod_mean_std", "runs", "seconds"):
        assert key in second
    runs = load_profile("smoke")["methods"]["dm"]["eval"]["runs"]
    assert second["acc"] == first["acc"] and second["runs"] == first["runs"] == runs


def test_fresh_stores_give_identical_metrics(tmp_path):
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    first = run_one(config, root=tmp_path / "a", progress=False)
    second = run_one(config, root=tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "runs" / first["run_id"] / "metrics.json").read_bytes() == \
        (tmp_path / "b" / "runs" / second["run_id"] / "metrics.json").read_bytes()
    folder = tmp_path / "a" / "runs" / first["run_id"]
    assert {p.name for p in folder.iterdir()} >= {"config.yaml", "metrics.json", "log.txt", "timing.json"}
    synsets = list((tmp_path / "a" / "synsets").iterdir())
    assert folder.joinpath("metrics.json.sha256").is_file() and not folder.joinpath(".lock").exists()
    names = {p.name for p in synsets[0].iterdir()}
    assert len(synsets) == 1 and names == {"synset.pt", "synset.pt.sha256"}  # checkpoint dropped, lock released


def test_runs_differing_only_in_evaluation_share_the_distilled_set(tmp_path):
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    other = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"eval.runs": 2})
    first = run_one(config, root=tmp_path, progress=False)
    second = run_one(other, root=tmp_path, progress=False)
    assert first["run_id"] != second["run_id"] and second["distill_seconds"] == first["distill_seconds"]
    assert len(list((tmp_path / "synsets").iterdir())) == 1
    assert "distilled set read from the store" in (tmp_path / "runs" / second["run_id"] / "log.txt").read_text()


def test_full_baseline_and_options_change_the_run_id(tmp_path):
    full = run_one(resolve("cdigits_bg", "full", None, 0, profile="smoke"), root=tmp_path, progress=False)
    assert full["runs"] == 1 and "full" in full["run_id"]
    a = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    b = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", data={"gap": 2})
    c = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", preset="cobra_official")
    from cobra_lab.store import run_id
    assert len({run_id(a), run_id(b), run_id(c)}) == 3
    assert c["distill"]["distance"] == "l1" and c["distill"]["warmup_epochs"] == 10


def test_the_reference_render_is_distilled_and_stored_on_its_own(tmp_path):
    clean = run_one(resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke"), root=tmp_path, progress=False)
    reference = run_one(resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", data={"render": "reference"}),
                        root=tmp_path, progress=False)
    assert reference["run_id"] != clean["run_id"] and len(list((tmp_path / "synsets").iterdir())) == 2
    stored = yaml.safe_load((tmp_path / "runs" / reference["run_id"] / "config.yaml").read_text())
    assert stored["data"]["render"] == "reference"


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_paper_profile_runs_two_steps_on_the_cpu(method):
    """The paper profile's networks and batches, cut to two image updates (eager: the compiled passes are
    tested on small nets in test_compiled.py, and compiling these would cost minutes on a fresh machine)."""
    config = resolve("cdigits_bg", method, "cobra", 10, profile="paper")
    assert config["net"]["width"] == 128 and config["distill"]["real_per_class"] == 256
    assert config["eval"]["runs"] == 10
    cut = {"distill.iterations": 2} if method == "dm" else {"distill.iterations": 1, "distill.outer_loop": 2,
                                                                 "distill.inner_loop": 1}
    overrides = {**cut, "device": "cpu", "distill.compile": False}
    config = resolve("cdigits_bg", method, "cobra", 10, profile="paper", overrides=overrides)
    synset = distill(load_data(config), typed(config), progress=False)
    assert synset.x.shape == (100, 3, 32, 32) and len(synset.losses) == (2 if method == "dm" else 1)


@pytest.mark.parametrize("args, message", [
    (["--ipc", "0"], "ipc must be an integer >= 1, got 0"),
    (["--method", "dmm"], "unknown method 'dmm'"),
    (["--mode", "cobbra"], "unknown mode 'cobbra'"),
    (["--runs", "-2"], "runs must be an integer >= 1, got -2"),
    (["--profile", "fast"], "unknown profile 'fast'"),
    (["--set", "distill.iterationz=3"], "unknown config key 'distill.iterationz'"),
    (["--dataset", "cfmnist"], "unknown dataset 'cfmnist'"),
    (["--skew", "0.01"], "skew must be in [0.1, 1], got 0.01"),
])
def test_bad_values_give_one_line_and_exit_2(args, message, tmp_path, capsys):
    base = {"--dataset": "cdigits_bg", "--method": "dm", "--mode": "cobra", "--ipc": "2", "--profile": "smoke"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["run", *[item for pair in base.items() for item in pair], "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()
