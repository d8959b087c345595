"""Time what a user waits for when moving the SKEW/GAP explorer's slider: re-bias, embed, draw, encode the PNG.

Each move goes to a (SKEW, GAP, mode) setting not drawn before: its statistics and picture are computed anew
(only the embeddings of images an earlier setting showed with the same pixels are reused, as in the notebook).
The first line gives the machine's load and each move its CPU seconds beside the wall time (on a shared CPU the
wall time grows with the other jobs, the CPU time does not); the last line is
``redraw median=<s> max=<s> cpu median=<s> | budget <b> s | median/budget=<r>`` (below 1: a typical move fits).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from cobra_lab.bench.results import write_results
from cobra_lab.errors import UserError
from cobra_lab.widgets import SkewGapExplorer

BUDGET_SECONDS = 1.0  # a slider move in a lecture: the new picture should be up within it
SETTINGS = [(0.6, 0, "cobra"), (0.6, 3, "cobra"), (0.95, 1, "fairdd"), (0.5, 2, "vanilla"), (0.8, 4, "cobra"),
            (0.7, 1, "cobra"), (0.99, 0, "fairdd"), (0.55, 4, "cobra")]  # (skew, gap, mode)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cdigits_bg", help="a registered benchmark (default cdigits_bg)")
    parser.add_argument("--moves", type=int, default=len(SETTINGS), choices=range(1, len(SETTINGS) + 1),
                        metavar=f"1..{len(SETTINGS)}", help="slider moves to time, each to a new setting")
    parser.add_argument("--json", default=None, help="also write every move's times to this JSON file "
                                                     "(benchmarks/results/bench_redraw.json: the recorded one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the explorer, time each move, print the load, one line per move and the summary line."""
    args = parse_args(argv)
    seconds, cpu = [], []
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    try:
        explorer = SkewGapExplorer(args.dataset, skew=0.9, gap=0)
        for skew, gap, mode in SETTINGS[:args.moves]:
            assert not explorer.is_cached(skew, gap, mode), "a timed move must go to a new setting"
            began = time.process_time()  # every thread of this process
            explorer.picture(skew, gap, mode)
            seconds.append(explorer.redraw_seconds)
            cpu.append(time.process_time() - began)
            print(f"skew {skew:<5g} gap {gap} {mode:<8}: {explorer.redraw_seconds:.3f} s (cpu {cpu[-1]:.3f} s)",
                  flush=True)
    except UserError as error:
        sys.exit(f"bench_redraw: {error}")
    median = statistics.median(seconds)
    print(f"redraw median={median:.3f} max={max(seconds):.3f} cpu median={statistics.median(cpu):.3f} | "
          f"budget {BUDGET_SECONDS:g} s | "
          f"median/budget={median / BUDGET_SECONDS:.3f}")
    if args.json:
        moves = [{"skew": skew, "gap": gap, "mode": mode, "seconds": wall, "cpu_seconds": used}
                 for (skew, gap, mode), wall, used in zip(SETTINGS, seconds, cpu)]
        write_results(args.json, "bench_redraw", {"dataset": args.dataset, "budget_seconds": BUDGET_SECONDS,
                                                  "median_seconds": median, "moves": moves})
    return 0


if __name__ == "__main__":
    sys.exit(main())
