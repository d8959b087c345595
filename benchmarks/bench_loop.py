"""Time whole distill-loop iterations (sampling, a fresh net, the image step), one process alone and several side
by side, and say where one process's time goes.

The step benchmark (bench_step.py) times the image step alone; a run also builds a fresh net on the CPU each
iteration and reads its losses back, and processes that share a machine share its cores. This script runs
``--iterations`` iterations of a real ``cfmnist_bg`` distillation at ``--profile`` (after a 3-iteration warm-up):
once alone under cProfile (the functions of cobra_lab by cumulative time), then ``--parallel`` processes at once
with torch's default CPU threads, then with the cores shared out (``--threads``, default cores / parallel), as
benchmarks/gpu_paper_cell.sh runs them. Last line: ``ms/iteration single=<a> parallel=<b> shared=<c>``.
Example (GPU): ``python benchmarks/bench_loop.py --device cuda --profile paper --iterations 100 --json out.json``.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from cobra_lab.accel.memory import keep_freed_memory
from cobra_lab.bench.results import write_results
from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.runner import load_data
from cobra_lab.schema import typed

WARMUP = 3


def loop_ms(args: argparse.Namespace, mode: str, profile: bool = False) -> float:
    """Milliseconds per iteration of ``args.iterations`` distill-loop iterations of ``mode``, after a warm-up."""
    config = resolve("cfmnist_bg", args.method, mode, 10, profile=args.profile, seed=0,
                     overrides={"device": args.device, "distill.iterations": args.iterations})
    data = load_data(config)
    settings = typed(config)
    distill(data, replace(settings, distill=replace(settings.distill, iterations=WARMUP)), progress=False)
    profiler = cProfile.Profile() if profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    distill(data, settings, progress=False)
    if profiler:
        profiler.disable()
    if torch.cuda.is_available() and args.device != "cpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - began
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumtime").print_stats("cobra_lab", 12)
    return seconds / args.iterations * 1e3


def side_by_side(args: argparse.Namespace, threads: int | None) -> list[float]:
    """Milliseconds per iteration of each of ``--parallel`` processes (vanilla, fairdd, cobra, ...) run at once,
    each with ``threads`` CPU threads (None: torch's default)."""
    modes = ["vanilla", "fairdd", "cobra"] * args.parallel
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    base = [sys.executable, __file__, "--child", "--device", args.device, "--profile", args.profile,
            "--method", args.method, "--iterations", str(args.iterations)]
    children = [subprocess.Popen([*base, "--mode", mode], env=env, stdout=subprocess.PIPE, text=True)
                for mode in modes[:args.parallel]]
    return [float(child.communicate()[0].split()[-1]) for child in children]


def main() -> int:
    """Run the three measurements and print them; the last line is the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--method", default="dm")
    parser.add_argument("--mode", default="cobra", help="the mode timed alone")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=3, help="processes side by side (vanilla, fairdd, cobra)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads each when shared "
                                                                   "(default: cores / parallel)")
    parser.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    keep_freed_memory()  # as a run does
    if min(args.iterations, args.parallel, args.threads or 1) < 1:
        parser.error("--iterations, --parallel and --threads must be at least 1")
    if args.child:
        print(f"{loop_ms(args, args.mode):.3f}")
        return 0
    shared = args.threads or max(1, (os.cpu_count() or 1) // args.parallel)
    single = loop_ms(args, args.mode, profile=True)
    parallel, split = side_by_side(args, None), side_by_side(args, shared)
    print(f"{args.profile} {args.method} on {args.device}: {args.iterations} iterations after {WARMUP}; "
          f"{args.parallel} processes side by side with torch's default threads "
          f"({torch.get_num_threads()}), then {shared} threads each")
    print(f"ms/iteration single={single:.1f} parallel={max(parallel):.1f} shared={max(split):.1f}")
    if args.json:
        write_results(Path(args.json), "bench_loop", {
            "settings": {key: value for key, value in vars(args).items() if key not in ("json", "child")},
            "shared_threads": shared, "single_ms": single, "parallel_ms": parallel, "shared_ms": split})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(f"bench_loop.py: error: {error}")
