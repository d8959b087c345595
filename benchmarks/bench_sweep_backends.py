"""Time one smoke grid through the local process pool and through Ray, with the same number of workers.

The Ray cluster (``--address``, else a throwaway one of ``--workers`` nodes with one CPU each on 127.0.0.1) is
up before the clock starts; both timings include starting the worker processes. Every sweep writes to a fresh
store, so nothing is read back. ``--rounds`` rounds alternate the order (local first, then Ray first) so that
neither backend always meets a warmer machine. The last line is
``sweep <n> runs, <w> workers: local=<s> s ray=<s> s | ray/local=<r>`` (totals over the rounds; above 1: what
Ray's scheduling costs).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd

from cobra_lab.bench.results import write_results
from cobra_lab.errors import UserError
from cobra_lab.ray_backend import local_cluster
from cobra_lab.sweep import METRIC_KEYS, expand, run_grid

TIMINGS = {"distill_seconds", "eval_seconds", "seconds"}


def grid(seeds: int) -> dict:
    """The smoke grid: DM and DC, vanilla and COBRA, ``seeds`` seeds (4 runs per seed, none sharing a set)."""
    return {"profile": "smoke", "datasets": ["cdigits_bg"], "methods": ["dm", "dc"], "modes": ["vanilla", "cobra"],
            "ipc": [2], "seeds": list(range(seeds))}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the grid, 4 runs each (default 2: 8 runs)")
    parser.add_argument("--workers", type=int, default=2, help="local processes, and Ray nodes of one CPU (2)")
    parser.add_argument("--address", default=None, help="a running Ray cluster (default: start a local one)")
    parser.add_argument("--rounds", type=int, default=2, help="timings of each backend, in alternating order (2)")
    parser.add_argument("--json", default=None, help="also write the timings to this JSON file "
                                                     "(benchmarks/results/bench_sweep_backends.json: the recorded one)")
    return parser.parse_args(argv)


def timed_grid(spec: dict, root: Path, **options) -> tuple[float, pd.DataFrame]:
    """Seconds the grid ``spec`` takes with ``options`` of run_grid, and its rows (a failed run is an error)."""
    began = time.perf_counter()
    rows = run_grid(spec, root=root, progress=False, **options)
    seconds = time.perf_counter() - began
    if (rows["status"] != "done").any():
        raise UserError(f"a run failed: {rows.loc[rows['status'] != 'done', 'error'].iloc[0]}")
    return seconds, rows


def main(argv: list[str] | None = None) -> int:
    """Start (or join) the cluster, time the grid on both backends, print one line each and the summary line."""
    args = parse_args(argv)
    spec = grid(args.seeds)
    store = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    seconds = {"local": 0.0, "ray": 0.0}
    metrics = [key for key in METRIC_KEYS if key not in TIMINGS]
    same = True
    try:
        cluster = nullcontext(args.address) if args.address else local_cluster(nodes=args.workers, cpus_per_node=1)
        with cluster as address:
            options = {"local": {"workers": args.workers}, "ray": {"backend": "ray", "address": address}}
            for round_index in range(args.rounds):
                rows = {}
                for backend in ("local", "ray") if round_index % 2 == 0 else ("ray", "local"):
                    taken, rows[backend] = timed_grid(spec, store / f"{backend}{round_index}", **options[backend])
                    seconds[backend] += taken
                    print(f"round {round_index + 1}, {backend}, {args.workers} workers: {taken:.1f} s", flush=True)
                same = same and rows["local"][metrics].equals(rows["ray"][metrics])
    except UserError as error:
        sys.exit(f"bench_sweep_backends: {error}")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    local_seconds, ray_seconds = seconds["local"], seconds["ray"]
    print(f"same metrics on both backends: {same}")
    print(f"sweep {len(expand(spec))} runs, {args.workers} workers: local={local_seconds:.1f} s "
          f"ray={ray_seconds:.1f} s | ray/local={ray_seconds / local_seconds:.2f}")
    if args.json:
        write_results(args.json, "bench_sweep_backends", {"runs": len(expand(spec)), "workers": args.workers,
                                                          "rounds": args.rounds, "local_seconds": local_seconds,
                                                          "ray_seconds": ray_seconds, "same_metrics": same})
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
