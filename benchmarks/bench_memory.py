"""Time a quick DM step and quick evaluation epochs with malloc left as it is and tuned to keep freed memory.

Every run tunes glibc's malloc (``cobra_lab.accel.memory``; ``COBRA_LAB_KEEP_MEMORY=0`` leaves it alone). This
script measures what that does, each measurement in a fresh process with the variable set one way or the
other, the two settings interleaved over ``--rounds`` rounds (median): the COBRA DM step at the quick profile's
sizes (G = 10, ``bench_step.py``), and an evaluation epoch of the quick profile's nets one by one and stacked
and compiled (``bench_eval.py``). Last line: ``kept/default dm_step=<a> eval_sequential=<b> eval_ensemble=<c>``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from cobra_lab.bench.children import child_last_line
from cobra_lab.bench.results import write_results

SETTINGS = {"default": "0", "kept": "1"}  # COBRA_LAB_KEEP_MEMORY of each setting's processes
EVAL_PATHS = {"eval_sequential": "sequential", "eval_ensemble": "ensemble compiled"}
HERE = Path(__file__).resolve().parent


def run_script(name: str, options: list[str], keep: str) -> str:
    """The last line benchmarks/<name>.py prints, run with ``options`` in a fresh Python process whose
    COBRA_LAB_KEEP_MEMORY is ``keep``."""
    return child_last_line([sys.executable, str(HERE / f"{name}.py"), *options], f"bench_memory: {name}.py",
                           env={**os.environ, "COBRA_LAB_KEEP_MEMORY": keep})


def dm_step_seconds(steps: int, keep: str) -> float:
    """Median seconds of our COBRA DM step at G = 10 (quick profile), timed by bench_step.py in a fresh process
    with COBRA_LAB_KEEP_MEMORY ``keep``."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "step.json"
        run_script("bench_step", ["--profile", "quick", "--methods", "dm", "--groups", "10", "--steps", str(steps),
                                  "--no-memory", "--json", str(out)], keep)
        records = json.loads(out.read_text())["records"]
    return next(r["seconds"] for r in records if r["mode"] == "cobra" and r["implementation"] == "ours")


def eval_epoch_seconds(path: str, epochs: int, keep: str) -> float:
    """Seconds of one quick evaluation epoch on ``path`` (a bench_eval.py path), timed in a fresh process with
    COBRA_LAB_KEEP_MEMORY ``keep``."""
    printed = run_script("bench_eval", ["--sizes", "quick", "--child", path, "--quick-epochs", str(epochs)], keep)
    return json.loads(printed)["epoch_s"]


def measure(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Seconds of every measurement under each setting, one list entry per round."""
    times: dict[str, dict[str, list[float]]] = {setting: {"dm_step": [], **{key: [] for key in EVAL_PATHS}}
                                                for setting in SETTINGS}
    for round_index in range(args.rounds):
        for setting, keep in SETTINGS.items():
            print(f"bench_memory: round {round_index + 1}/{args.rounds}: {setting}", file=sys.stderr, flush=True)
            times[setting]["dm_step"].append(dm_step_seconds(args.steps, keep))
            for key, path in EVAL_PATHS.items():
                times[setting][key].append(eval_epoch_seconds(path, args.epochs, keep))
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; its last line is the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median over them)")
    parser.add_argument("--steps", type=int, default=10, help="timed DM steps per process")
    parser.add_argument("--epochs", type=int, default=10, help="timed evaluation epochs per process")
    parser.add_argument("--json", default=None, help="also write every measurement to this JSON file")
    args = parser.parse_args(argv)
    if min(args.rounds, args.steps, args.epochs) < 1:
        parser.error("--rounds, --steps and --epochs must be at least 1")
    times = measure(args)
    median = {setting: {key: statistics.median(values) for key, values in found.items()}
              for setting, found in times.items()}
    print(f"{'measurement':<16} {'default ms':>11} {'kept ms':>9} {'kept/default':>13}")
    ratios = {}
    for key in median["default"]:
        ratios[key] = median["kept"][key] / median["default"][key]
        print(f"{key:<16} {median['default'][key] * 1e3:>11.1f} {median['kept'][key] * 1e3:>9.1f} "
              f"{ratios[key]:>13.3f}")
    print(f"quick profile sizes; {args.rounds} rounds, median; each measurement in a fresh process")
    if args.json:
        write_results(args.json, "bench_memory", {"settings": vars(args), "seconds": times, "ratios": ratios})
    print("kept/default " + " ".join(f"{key}={value:.3f}" for key, value in ratios.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
