"""Time cobra-lab processes sharing the machine's cores: one DM run alone, two side by side, a sweep of two runs
with one worker and with two.

Every run is a ``cobra-lab`` process of its own writing to a fresh store (nothing is read back); the data cache is
warmed first. Side by side, each run should take about twice its time alone on a machine whose cores one run
keeps busy (it cannot do better), and far longer when their threads thrash; two workers should finish a sweep no
later than one. The last line is ``side-by-side/alone=<x> workers2/workers1=<y>`` (x: the mean time of the two
runs side by side over the time alone; y: the sweep's time with two workers over one).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cobra_lab.bench.results import write_results

RUN = ["--dataset", "cdigits_bg", "--method", "dm", "--mode", "cobra", "--ipc", "10"]


def cobra_lab(*args: str) -> list[str]:
    """The command line of ``cobra-lab <args>`` with this interpreter."""
    return [sys.executable, "-m", "cobra_lab.cli", *args]


def timed(commands: list[list[str]]) -> list[float]:
    """Start ``commands`` together; the seconds each took (one that fails is an error)."""
    began = time.perf_counter()
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for command in commands]
    seconds: dict[int, float] = {}
    while len(seconds) < len(processes):
        for index, process in enumerate(processes):
            if index not in seconds and process.poll() is not None:
                seconds[index] = time.perf_counter() - began
                if process.returncode:
                    raise SystemExit(f"bench_share: {' '.join(commands[index][2:])} failed")
        time.sleep(0.05)
    return [seconds[index] for index in range(len(processes))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", help="profile of the runs (default demo; smoke to try it)")
    parser.add_argument("--json", default=None, help="also write the timings to this JSON file "
                                                     "(benchmarks/results/bench_share.json: the recorded one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Time the four cases, print one line each and the summary line."""
    args = parse_args(argv)
    run = [*RUN, "--profile", args.profile, "--quiet"]
    with tempfile.TemporaryDirectory(prefix="bench_share-") as folder:
        stores = iter(Path(folder) / f"store{index}" for index in range(8))
        timed([cobra_lab("data", "describe", "cdigits_bg")])  # the data cache, built once before any clock
        [alone] = timed([cobra_lab("run", *run, "--out", str(next(stores)))])
        pair = timed([cobra_lab("run", *run, "--out", str(next(stores))) for _ in range(2)])
        grid = Path(folder) / "grid.yaml"
        grid.write_text(json.dumps({"grid": {"profile": args.profile, "datasets": ["cdigits_bg"], "methods": ["dm"],
                                             "modes": ["vanilla", "cobra"], "ipc": [10]}}))
        sweeps = {workers: timed([cobra_lab("sweep", str(grid), "--workers", str(workers), "--quiet",
                                            "--out", str(next(stores)))])[0] for workers in (1, 2)}
    side_by_side = sum(pair) / len(pair) / alone
    workers = sweeps[2] / sweeps[1]
    print(f"one run alone: {alone:.1f} s; two side by side: {pair[0]:.1f} s and {pair[1]:.1f} s")
    print(f"sweep of two runs: {sweeps[1]:.1f} s with one worker, {sweeps[2]:.1f} s with two")
    print(f"side-by-side/alone={side_by_side:.2f} workers2/workers1={workers:.2f}")
    if args.json:
        write_results(args.json, "bench_share", {
            "profile": args.profile, "alone_seconds": alone, "side_by_side_seconds": pair,
            "sweep_seconds": {str(k): v for k, v in sweeps.items()}, "side_by_side_over_alone": side_by_side,
            "workers2_over_workers1": workers})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
