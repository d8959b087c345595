"""Bad input at every entry point: the command line, sweep files, notebook parameters (the study functions the
notebooks call) and environment variables. Each case must give exit code 2 (a UserError in Python) with one
line on stderr, no traceback, and an empty store. The cases run in-process; a few end-to-end ones spawn the
command (argparse errors, a reader that closes the pipe early)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cobra_lab.cli import main
from cobra_lab.errors import UserError
from cobra_lab.paths import output_dir, repo_root
from cobra_lab.studies import (
    cross_arch,
    discrepancy,
    interventions,
    label_noise,
    low_ipc,
    main_table,
    partial_labels,
    quickstart,
    semantic_gap,
    skew_gap,
    tsne,
)
from cobra_lab.sweep import run_grid

RUN = ["run", "--dataset", "cdigits_bg", "--method", "dm", "--mode", "cobra", "--ipc", "2", "--profile", "smoke",
       "--quiet"]
GRID = "grid:\n  profile: smoke\n  datasets: [cdigits_bg]\n  ipc: 2\n"
A_FILE = "{tmp}/a_file"  # a regular file: nothing can be created below it, even by root
STUDY = {"profile": "smoke", "ipc": 2, "seeds": [0]}

# (case id, arguments; "{tmp}" is the test's temporary folder)
CLI_CASES = [
    # --set: type, range, finiteness and known names of every kind of key
    ("lr_img-text", [*RUN, "--set", "distill.lr_img=abc"]),
    ("lr_img-negative", [*RUN, "--set", "distill.lr_img=-1"]),
    ("lr_img-zero", [*RUN, "--set", "distill.lr_img=0"]),
    ("lr_img-nan", [*RUN, "--set", "distill.lr_img=nan"]),
    ("lr_img-inf", [*RUN, "--set", "distill.lr_img=inf"]),
    ("lr_img-yaml-inf", [*RUN, "--set", "distill.lr_img=.inf"]),
    ("lr_img-diverges", [*RUN, "--set", "distill.lr_img=1e38"]),
    ("momentum-text", [*RUN, "--set", "distill.momentum=abc"]),
    ("momentum-one", [*RUN, "--set", "distill.momentum=1"]),
    ("width-zero", [*RUN, "--set", "net.width=0"]),
    ("width-huge", [*RUN, "--set", "net.width=1000000000"]),
    ("width-fraction", [*RUN, "--set", "net.width=2.5"]),
    ("depth-too-deep", [*RUN, "--set", "net.depth=9"]),
    ("norm-unknown", [*RUN, "--set", "net.norm=foo"]),
    ("arch-unknown", [*RUN, "--set", "net.arch=foo"]),
    ("dc-batchnorm", [*RUN, "--method", "dc", "--set", "net.norm=batchnorm"]),
    ("device-tpu", [*RUN, "--set", "device=tpu"]),
    ("device-cuda-index", [*RUN, "--set", "device=cuda:x"]),
    ("device-cuda-missing", [*RUN, "--set", "device=cuda:99"]),
    ("eval-batch-zero", [*RUN, "--set", "eval.batch=0"]),
    ("eval-runs-zero", [*RUN, "--set", "eval.runs=0"]),
    ("eval-epochs-negative", [*RUN, "--set", "eval.epochs=-1"]),
    ("eval-lr-nan", [*RUN, "--set", "eval.lr=nan"]),
    ("eval-lr-zero", [*RUN, "--set", "eval.lr=0"]),
    ("eval-lr-diverges", [*RUN, "--set", "eval.lr=1e30", "--set", "eval.epochs=1"]),
    ("eval-max-test-zero", [*RUN, "--set", "eval.max_test=0"]),
    ("eval-chunk-zero", [*RUN, "--set", "eval.chunk=0"]),
    ("eval-chunk-word", [*RUN, "--set", "eval.chunk=small"]),
    ("eval-arch-unknown", [*RUN, "--set", "eval.arch=foo"]),
    ("eval-weighting-unknown", [*RUN, "--set", "eval.group_weighting=fair"]),
    ("eval-dsa-number", [*RUN, "--set", "eval.dsa=2"]),
    ("whole-section", [*RUN, "--set", "distill=5"]),
    ("whole-net-section", [*RUN, "--set", "net=3"]),
    ("yaml-error", [*RUN, "--set", "distill.iterations=[1"]),
    ("no-equals", [*RUN, "--set", "distill.iterations"]),
    ("unknown-key", [*RUN, "--set", "distill.iterationz=3"]),
    ("unknown-top-key", [*RUN, "--set", "foo=1"]),
    ("iterations-zero", [*RUN, "--set", "distill.iterations=0"]),
    ("iterations-fraction", [*RUN, "--set", "distill.iterations=2.5"]),
    ("init-unknown", [*RUN, "--set", "distill.init=foo"]),
    ("dsa-number", [*RUN, "--set", "distill.dsa=2"]),
    ("dsa-strategy-unknown", [*RUN, "--set", "distill.dsa_strategy=foo_bar"]),
    ("dsa-strategy-empty", [*RUN, "--set", "distill.dsa_strategy=_"]),
    ("real-chunk-zero", [*RUN, "--set", "distill.real_chunk=0"]),
    ("compile-number", [*RUN, "--set", "distill.compile=2"]),
    ("discrepancy-unknown", [*RUN, "--set", "distill.discrepancy=l3"]),
    ("discrepancy-not-cobra", [*RUN, "--mode", "vanilla", "--set", "distill.discrepancy=l1"]),
    ("extractor-unknown", [*RUN, "--set", "distill.extractor=foo"]),
    ("extractor-epochs-zero", [*RUN, "--set", "distill.extractor_epochs=0"]),
    ("warmup-negative", [*RUN, "--set", "distill.warmup_epochs=-1"]),
    ("distance-unknown", [*RUN, "--set", "distill.distance=l7"]),
    ("real-per-class-zero", [*RUN, "--set", "distill.real_per_class=0"]),
    ("lr-net-negative", [*RUN, "--set", "distill.lr_net=-0.1"]),
    ("batch-train-zero", [*RUN, "--set", "distill.batch_train=0"]),
    ("dc-outer-loop-zero", [*RUN, "--method", "dc", "--set", "distill.outer_loop=0"]),
    ("idc-factor-zero", [*RUN, "--method", "idc", "--set", "distill.factor=0"]),
    ("idc-factor-over-range", [*RUN, "--method", "idc", "--set", "distill.factor=9"]),
    ("full-distill-key", [*RUN, "--method", "full", "--set", "distill.iterations=3"]),
    # run flags
    ("ipc-text", [*RUN, "--ipc", "abc"]),
    ("ipc-zero", [*RUN, "--ipc", "0"]),
    ("ipc-fraction", [*RUN, "--ipc", "2.5"]),
    ("ipc-huge", [*RUN, "--ipc", "1000000000"]),
    ("ipc-above-class-size", [*RUN, "--ipc", "91"]),
    ("skew-text", [*RUN, "--skew", "abc"]),
    ("skew-too-low", [*RUN, "--skew", "0.01"]),
    ("skew-nan", [*RUN, "--skew", "nan"]),
    ("gap-too-high", [*RUN, "--gap", "9"]),
    ("semantic-gap-inf", [*RUN, "--semantic-gap", "inf"]),
    ("semantic-gap-negative", [*RUN, "--semantic-gap", "-1"]),
    ("render-typo", [*RUN, "--render", "refrence"]),
    ("render-where-alike", [*RUN, "--dataset", "cdigits_fg", "--set", "data.render=reference"]),
    ("group-noise-above-one", [*RUN, "--group-noise", "2"]),
    ("known-groups-zero", [*RUN, "--known-groups", "0"]),
    ("seed-negative", [*RUN, "--seed", "-1"]),
    ("seed-huge", [*RUN, "--seed", "1e30"]),
    ("runs-zero", [*RUN, "--runs", "0"]),
    ("method-unknown", [*RUN, "--method", "dmm"]),
    ("mode-unknown", [*RUN, "--mode", "cobbra"]),
    ("profile-unknown", [*RUN, "--profile", "fast"]),
    ("preset-unknown", [*RUN, "--preset", "foo"]),
    ("dataset-unknown", [*RUN, "--dataset", "cfmnist"]),
    ("dataset-missing", ["run", "--method", "dm"]),
    ("flag-unknown", [*RUN, "--iterations", "3"]),
    ("command-unknown", ["bogus"]),
    ("out-unwritable", [*RUN, "--out", f"{A_FILE}/store"]),
    ("root-is-a-file", [*RUN, "--root", A_FILE]),
    ("data-missing", [*RUN, "--dataset", "cmnist_bg", "--root", "{tmp}/empty_data"]),
    # data commands
    ("describe-skew-text", ["data", "describe", "cdigits_bg", "--skew", "abc"]),
    ("describe-unknown", ["data", "describe", "cdigits"]),
    ("describe-gap", ["data", "describe", "cdigits_bg", "--gap", "7"]),
    ("show-split", ["data", "show", "cdigits_bg", "--split", "val", "--out", "{tmp}/grid.png"]),
    ("show-unwritable", ["data", "show", "cdigits_bg", "--out", f"{A_FILE}/grid.png"]),
    ("show-format", ["data", "show", "cdigits_bg", "--out", "{tmp}/grid.txt"]),
    ("show-per-cell-text", ["data", "show", "cdigits_bg", "--out", "{tmp}/grid.png", "--per-cell", "abc"]),
    ("show-per-cell-zero", ["data", "show", "cdigits_bg", "--out", "{tmp}/grid.png", "--per-cell", "0"]),
    ("data-subcommand", ["data", "plot"]),
]

# (case id, sweep file content or None for "no file", extra arguments); a "study-" case's file is named after a
# study (its parameters), the others hold a grid
SWEEP_CASES = [
    ("folder-as-file", "<folder>", []),
    ("no-such-file", None, []),
    ("grid-empty-list", "grid: []\n", []),
    ("grid-empty-mapping", "grid: {}\n", []),
    ("grid-null", "grid:\n", []),
    ("datasets-empty", "grid:\n  datasets: []\n", []),
    ("modes-empty", GRID + "  modes: []\n", []),
    ("set-values-empty", GRID + "  set: {eval.arch: []}\n", []),
    ("huge-grid", GRID + f"  seeds: {list(range(400))}\n  ipc: {list(range(1, 31))}\n", []),
    ("bad-yaml", "grid: [\n", []),
    ("not-a-mapping", "- 1\n- 2\n", []),
    ("no-grid-entry", "profile: smoke\n", []),
    ("unknown-grid-key", GRID + "  dataset: cdigits_bg\n", []),
    ("unknown-data-key", GRID + "  data: {skw: 0.9}\n", []),
    ("set-bad-value", GRID + "  set: {distill.lr_img: [1, abc]}\n", []),
    ("set-unknown-key", GRID + "  set: {distill.iters: 3}\n", []),
    ("full-not-bool", GRID + "  full: maybe\n", []),
    ("param-unknown", GRID, ["--param", "ipcc=3"]),
    ("param-yaml", GRID, ["--param", "grid=[1"]),
    ("workers-zero", GRID, ["--workers", "0"]),
    ("workers-text", GRID, ["--workers", "abc"]),
    ("csv-unwritable", GRID, ["--csv", f"{A_FILE}/rows.csv"]),
    ("out-unwritable", GRID, ["--out", f"{A_FILE}/store"]),
    ("study-params-lack-entry", "profile: smoke\ndatasets: [cdigits_bg]\nmethods: [dm]\n", []),
    ("study-params-empty-datasets", "profile: smoke\ndatasets: []\nmethods: [dm]\nmodes: [cobra]\nipc: [2]\n"
                                    "seeds: [0]\n", []),
]

# notebook parameters: (case id, study function, its arguments) as the notebooks call them
STUDY_CASES = [
    ("main-table-no-datasets", main_table.grid, dict(STUDY, datasets=[], methods=["dm"], modes=["cobra"])),
    ("main-table-ipc-text", main_table.grid,
     dict(STUDY, datasets=["cdigits_bg"], methods=["dm"], modes=["cobra"], ipc=["ten"])),
    ("quickstart-mode", quickstart.grid,
     {"profile": "smoke", "dataset": "cdigits_bg", "method": "dm", "modes": ["cobbra"], "ipc": 2, "seed": 0}),
    ("quickstart-skew", quickstart.grid, {"profile": "smoke", "dataset": "cdigits_bg", "method": "dm",
                                           "modes": ["cobra"], "ipc": 2, "seed": 0, "skew": 1.5}),
    ("skew-gap-skews", skew_gap.grid, dict(STUDY, dataset="cdigits_bg", methods=["dm"], modes=["cobra"],
                                            skews=[2.0], fixed_gap=0, gaps=[0], fixed_skew=0.9)),
    ("semantic-gap-gammas", semantic_gap.grid,
     dict(STUDY, dataset="cdigits_bg", methods=["dm"], modes=["cobra"], gammas=[-1])),
    ("label-noise-rhos", label_noise.grid, dict(STUDY, datasets=["cdigits_bg"], methods=["dm"], rhos=[1.5],
                                                 clean_modes=["vanilla"], noisy_modes=["cobra"])),
    ("partial-labels-etas", partial_labels.grid, dict(STUDY, datasets=["cdigits_bg"], methods=["dm"], etas=[0],
                                                       clean_modes=["vanilla"], partial_modes=["cobra"])),
    ("partial-labels-imputation", partial_labels.grid,
     dict(STUDY, datasets=["cdigits_bg"], methods=["dm"], etas=[0.5], clean_modes=["vanilla"],
          partial_modes=["cobra"], imputation="pixel_kmeans")),
    ("discrepancy-unknown", discrepancy.grid,
     dict(STUDY, dataset="cdigits_bg", methods=["dm"], discrepancies=["l3"])),
    ("cross-arch-unknown", cross_arch.grid,
     dict(STUDY, dataset="cdigits_bg", methods=["dm"], modes=["cobra"], archs=["lenet"])),
    ("low-ipc-zero", low_ipc.grid, {"profile": "smoke", "dataset": "cdigits_bg", "methods": ["dm"],
                                     "modes": ["cobra"], "ipcs": [0], "seeds": [0]}),
    ("interventions-unknown", interventions.grid,
     dict(STUDY, dataset="cdigits_bg", methods=["dm"], compared=["XF"])),
    ("tsne-profile", tsne.grid,
     {"profile": "fast", "dataset": "cdigits_bg", "method": "dm", "modes": ["cobra"], "ipc": 2, "seed": 0}),
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty results folder as $COBRA_LAB_OUTPUTS, a shared data folder as $COBRA_LAB_DATA (restored after
    the test), and a regular file at {tmp}/a_file."""
    folder = tmp_path / "store"
    folder.mkdir()
    monkeypatch.setenv("COBRA_LAB_OUTPUTS", str(folder))
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path_factory.getbasetemp() / "bad_inputs_data"))
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "empty_data").mkdir()
    return folder


def assert_clean(code: int, err: str, store: Path) -> None:
    """Exit 2, one line on stderr, no traceback, nothing stored."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "error" in lines[0], err
    assert "Traceback" not in err
    assert not any(store.iterdir()), sorted(store.rglob("*"))


@pytest.mark.parametrize("argv", [argv for _, argv in CLI_CASES], ids=[name for name, _ in CLI_CASES])
def test_command_line(argv: list[str], store: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                      offline: None) -> None:
    code = main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    assert_clean(code, capsys.readouterr().err, store)


@pytest.mark.parametrize("name, content, extra", SWEEP_CASES, ids=[case[0] for case in SWEEP_CASES])
def test_sweep_file(name: str, content: str | None, extra: list[str], store: Path, tmp_path: Path,
                    capsys: pytest.CaptureFixture) -> None:
    # a file named after a study is read as that study's parameters; any other needs a grid: entry
    path = tmp_path / ("01_main_table.yaml" if name.startswith("study-") else "sweep.yaml")
    if content == "<folder>":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    code = main(["sweep", str(path), "--quiet", *[arg.replace("{tmp}", str(tmp_path)) for arg in extra]])
    assert_clean(code, capsys.readouterr().err, store)


@pytest.mark.parametrize("study, params", [case[1:] for case in STUDY_CASES], ids=[case[0] for case in STUDY_CASES])
def test_notebook_parameters(study, params: dict, store: Path) -> None:
    with pytest.raises(UserError) as error:
        run_grid(study(**params), progress=False)
    assert len(str(error.value).splitlines()) == 1
    assert not any(store.iterdir())


def test_notebook_output_folder_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(UserError, match="is not a folder"):
        output_dir(tmp_path / "a_file" / "figures")


@pytest.mark.parametrize("variable", ["COBRA_LAB_OUTPUTS", "COBRA_LAB_DATA"])
def test_environment_variable_naming_a_file(variable: str, store: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv(variable, str(tmp_path / "a_file") + ("/store" if variable == "COBRA_LAB_OUTPUTS" else ""))
    assert_clean(main(RUN), capsys.readouterr().err, store)


def test_malloc_setting_other_than_0_or_1(store: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("COBRA_LAB_KEEP_MEMORY", "yes")
    code = main(RUN)
    err = capsys.readouterr().err
    assert_clean(code, err, store)
    assert "COBRA_LAB_KEEP_MEMORY 'yes'; choose one of: 0, 1" in err


def test_environment_store_unwritable_for_a_sweep(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "grid.yaml").write_text(GRID)
    monkeypatch.setenv("COBRA_LAB_OUTPUTS", str(tmp_path / "a_file" / "store"))
    assert_clean(main(["sweep", str(tmp_path / "grid.yaml"), "--quiet"]), capsys.readouterr().err, store)


def _command(shell: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``shell`` run by bash with pipefail, ``cobra-lab`` standing for this Python's ``-m cobra_lab.cli``."""
    env = {**os.environ, "PYTHONPATH": str(repo_root()), "COBRA_LAB_OUTPUTS": str(tmp_path / "store")}
    command = shell.replace("cobra-lab", f"{sys.executable} -m cobra_lab.cli")
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_end_to_end_usage_error_is_one_line(tmp_path: Path) -> None:
    done = _command("cobra-lab run --dataset cdigits_bg --method dm --ipc abc", tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "cobra-lab run: error: argument --ipc: not a number: 'abc' (see cobra-lab run --help)"]
    assert not (tmp_path / "store").exists()


def test_end_to_end_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `true` exits before the command starts writing, so its output meets a closed pipe
    done = _command("cobra-lab data describe cdigits_bg --json | true", tmp_path)
    assert done.returncode == 0 and done.stderr == ""
