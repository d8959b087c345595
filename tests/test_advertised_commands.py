"""Every command that README.md, the notebooks' markdown and the params/*.yaml headers advertise runs.

``cobra-lab`` commands run in-process with the smoke profile (sweeps also with the notebook tests' smaller grids,
and in the store the notebook tests use, so each smoke run is computed once for both); the benchmark runs one
tiny step per configuration; ``papermill`` commands run with ``--prepare-only`` (parameters checked and injected;
test_notebooks.py executes every notebook under the smoke profile); ``make`` targets run dry (``make -n``).
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from data_needs import uses_fashion_mnist
from test_notebooks import SMOKE_OVERRIDES

from cobra_lab.cli import main
from cobra_lab.config import get_dotted, load_profile
from cobra_lab.paths import repo_root
from cobra_lab.studies.overhead import SMOKE_SIZES, results_file

ROOT = repo_root()
PREFIXES = ("cobra-lab ", "papermill ", "python benchmarks/", "make ")
ELIDED_RUN = ["--dataset", "cdigits_bg", "--method", "dm", "--ipc", "1"]  # what `cobra-lab run ...` stands for here
OWN_EXAMPLE, OWN_PER_CLASS = "my_digits", 30  # the README's own dataset, as its `data example` line writes it
REPRODUCED = ("03_semantic_gap", "09_discrepancy")  # what `cobra-lab reproduce ...` stands for here
TINY_GRID = {"grid": {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm"], "modes": ["vanilla"],
                      "ipc": [1], "set": {"distill.iterations": 1, "eval.epochs": 1}}}


def commands_in(text: str) -> list[str]:
    """The command lines of a markdown text: lines of its code blocks (comments cut) and its code spans."""
    lines = [line.split(" #")[0].strip() for block in re.findall(r"```\w*\n(.*?)```", text, re.S)
             for line in block.splitlines()]
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [command for command in lines + spans if command.startswith(PREFIXES)]


def advertised() -> dict[str, list[str]]:
    """Each advertised command and where it is advertised; a bare ``cobra-lab <command>`` is a mention, not a
    command line."""
    sources = {"README.md": commands_in((ROOT / "README.md").read_text())}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        markdown = "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
        sources[path.name] = commands_in(markdown)
    for path in sorted((ROOT / "params").glob("*.yaml")):
        parts = [part.strip() for line in re.findall(r"^#(.*)$", path.read_text(), re.M) for part in line.split(";")]
        said = [part if part.startswith(PREFIXES) else part.split(": ", 1)[-1] for part in parts]  # "...: <command>"
        sources[f"params/{path.name}"] = [command for command in said if command.startswith(PREFIXES)]
    found: dict[str, list[str]] = {}
    for source, commands in sources.items():
        for command in commands:
            if not re.fullmatch(r"cobra-lab \w+", command):
                found.setdefault(command, []).append(source)
    return found


COMMANDS = advertised()


def needs_fashion_mnist(command: str) -> bool:
    """Whether a command runs a Fashion-MNIST benchmark: named on its line or in the sweep file it runs."""
    files = [ROOT / token for token in shlex.split(command) if token.startswith("params/") and token.endswith(".yaml")]
    return "cfmnist" in command or any(uses_fashion_mnist(yaml.safe_load(path.read_text()) or {})
                                       for path in files if "sweep" in command)


def cases(kind: str) -> list:
    return [pytest.param(command, id=command, marks=[pytest.mark.requires_fashion_mnist]
                         if needs_fashion_mnist(command) else [])
            for command in COMMANDS if command.startswith(kind)]


def test_the_advertised_commands_are_found():
    assert {"README.md", "params/13_overhead.yaml", "13_overhead.ipynb"} <= {s for v in COMMANDS.values() for s in v}
    assert len([c for c in COMMANDS if c.startswith("cobra-lab sweep params/")]) >= 13
    assert "cobra-lab sweep params/13_overhead.yaml" not in COMMANDS  # not a grid of runs: the benchmark is


def smoke_argv(command: str, ray_address: str | None = None) -> list[str]:
    """A ``cobra-lab`` command line cut to smoke size: the smoke profile with its own value of every key a
    ``--set`` changes; for sweeps the notebook tests' smaller grids, and the file's own value of every ``--param``
    (so the runs are the notebook tests' runs); a Ray sweep goes to ``ray_address`` and, on that cluster without
    GPUs, asks for none."""
    argv = shlex.split(command)[1:]
    if ray_address is not None:
        argv[argv.index("--address") + 1] = ray_address
        if "--gpus-per-run" in argv:
            del argv[argv.index("--gpus-per-run"):argv.index("--gpus-per-run") + 2]
    if argv[0] == "report":  # the run ids it names stand for two smoke runs, those notebook 15 computes
        from cobra_lab.audit import example_runs

        ids = example_runs("smoke", "cdigits_bg", "dm", ["vanilla", "cobra"], 10, 0, progress=False)[:2]
        options = next(index for index, token in enumerate(argv) if token.startswith("--"))
        return ["report", *ids, *argv[options:], "--quiet"]
    argv = [part for token in argv for part in (ELIDED_RUN if token == "..." else [token])]
    if argv[0] == "reproduce":  # two small studies at the smoke profile, with the notebook tests' grids; their
        # seed reruns are tested in tests/test_reproduction.py, not executed again here
        kept = ["--dry-run"] if "--dry-run" in argv else ["--no-seed-check"]
        small = [f"--param={name[:2]}.{key}={json.dumps(value)}" for name in REPRODUCED
                 for key, value in SMOKE_OVERRIDES[name].items()]
        return ["reproduce", "--profile", "smoke", "--studies", *(name[:2] for name in REPRODUCED), *small, *kept,
                "--quiet"]
    if argv[0] == "run":
        smoke = load_profile("smoke")["methods"][argv[argv.index("--method") + 1]]
        reset = [f"--set={key}={json.dumps(get_dotted(smoke, key))}" for key in re.findall(r"--set (\S+)=", command)]
        return [*argv, "--profile", "smoke", *reset, "--quiet"]
    if argv[0] == "sweep":
        path = ROOT / argv[1] if (ROOT / argv[1]).exists() else Path(argv[1])
        stored = yaml.safe_load(path.read_text())
        argv[1] = str(path)
        overrides = {"profile": "smoke", **SMOKE_OVERRIDES.get(path.stem, {})} if "grid" not in stored else {}
        overrides.update({key: stored[key] for key in re.findall(r"--param (\w+)=", command) if key not in overrides})
        return [*argv, *[f"--param={key}={json.dumps(value)}" for key, value in overrides.items()], "--quiet"]
    return argv


@pytest.fixture(scope="session")
def own_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the README's own-dataset commands run in: the example written and added once, so each of its
    commands runs on its own, in any order."""
    from cobra_lab.data.example import write_example
    from cobra_lab.data.own import add_dataset

    folder = tmp_path_factory.mktemp("own_example")
    labels = write_example(folder / OWN_EXAMPLE, per_class=OWN_PER_CLASS)
    add_dataset(OWN_EXAMPLE, labels.parent / "images", labels, progress=False)
    return folder


@pytest.mark.parametrize("command", cases("cobra-lab "))
def test_cobra_lab_command_runs(command: str, study_env, tmp_path, monkeypatch, capsys, request):
    # files a command names (grid.png, rows.csv, my_grid.yaml, the own dataset's folder) live here
    monkeypatch.chdir(request.getfixturevalue("own_example") if OWN_EXAMPLE in command else tmp_path)
    (tmp_path / "my_grid.yaml").write_text(yaml.safe_dump(TINY_GRID))
    ray_address = request.getfixturevalue("ray_cluster") if "--backend ray" in command else None
    code = main(smoke_argv(command, ray_address))
    out, err = capsys.readouterr()
    assert code == 0, err
    for name in re.findall(r"(?:--out|--csv) (\S+)", command):
        assert (tmp_path / name).stat().st_size > 0
    if "--json" in command:
        json.loads(out)


def smoke_flags() -> list[str]:
    """The overhead study's smoke sizes as the benchmark script's flags."""
    flags = []
    for key, value in SMOKE_SIZES.items():
        flag = key.replace("_", "-")
        flags += ([f"--{flag}" if value else f"--no-{flag}"] if isinstance(value, bool) else [f"--{flag}", str(value)])
    return flags


@pytest.mark.parametrize("command", cases("python benchmarks/"))
def test_benchmark_command_runs_one_tiny_step(command: str, study_env):
    """The benchmark as notebook 13 runs it under the smoke profile, into the file that notebook reads."""
    argv = shlex.split(command)
    dataset = argv[argv.index("--dataset") + 1] if "--dataset" in argv else "random"
    argv[argv.index("--json") + 1] = str(results_file("smoke", dataset))
    done = subprocess.run([sys.executable, *argv[1:], *smoke_flags(), "--groups", "2", "--no-memory"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert {record["groups"] for record in json.loads(results_file("smoke", dataset).read_text())["records"]} == {2}


@pytest.mark.parametrize("command", cases("papermill "))
def test_papermill_command_prepares_its_notebook(command: str, tmp_path, monkeypatch):
    from papermill.cli import papermill as papermill_cli

    monkeypatch.chdir(ROOT)
    argv = shlex.split(command)[1:]
    argv[1] = str(tmp_path / argv[1])
    papermill_cli.main([*argv, "--prepare-only"], standalone_mode=False)
    prepared = json.loads((tmp_path / "out.ipynb").read_text())
    defaults, given = (cell_values(prepared, tag) for tag in ("parameters", "injected-parameters"))
    assert given
    for name, value in given.items():  # papermill's -p passes a list as text ("[dm, idc]"); -y passes YAML
        if isinstance(defaults.get(name), list):
            assert isinstance(value, list), f"{name} = {value!r} is not a list; give lists with -y 'name: [...]'"


def cell_values(notebook: dict, tag: str) -> dict:
    """The names a notebook's cell tagged ``tag`` assigns, with their values."""
    cell = next(cell for cell in notebook["cells"] if tag in cell["metadata"].get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)  # parameter cells are plain assignments
    return values


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("command", cases("make "))
def test_make_target_exists(command: str):
    done = subprocess.run([*shlex.split(command)[:1], "-n", *shlex.split(command)[1:]], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

