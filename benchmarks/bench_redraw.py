"""Time the SKEW/GAP explorer's redraw (re-bias, embed, draw) against the 2 s a live lecture can wait.

Each move goes to a (SKEW, GAP) setting not seen before, so nothing is memoised; the last line is
``redraw median=<s> max=<s> | budget <b> s | max/budget=<r>`` (below 1: every move fitted the budget).
"""
from __future__ import annotations

import argparse
import statistics
import sys

from cobra_lab.errors import UserError
from cobra_lab.widgets import SkewGapExplorer

BUDGET_SECONDS = 2.0  # a slider move in a lecture: the redraw must finish within it
SETTINGS = [(0.6, 0), (0.6, 3), (0.95, 1), (0.5, 2), (0.8, 4), (0.7, 1), (0.99, 0), (0.55, 4)]  # (skew, gap)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cdigits_bg", help="a registered benchmark (default cdigits_bg)")
    parser.add_argument("--moves", type=int, default=len(SETTINGS), choices=range(1, len(SETTINGS) + 1),
                        metavar=f"1..{len(SETTINGS)}", help="slider moves to time, each to a new setting")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the explorer, time each move, print one line per move and the summary line."""
    args = parse_args(argv)
    seconds = []
    try:
        explorer = SkewGapExplorer(args.dataset, skew=0.9, gap=0)
        for skew, gap in SETTINGS[:args.moves]:
            explorer.redraw(skew, gap)
            seconds.append(explorer.redraw_seconds)
            print(f"skew {skew:<5g} gap {gap}: {explorer.redraw_seconds:.3f} s", flush=True)
    except UserError as error:
        sys.exit(f"bench_redraw: {error}")
    worst = max(seconds)
    print(f"redraw median={statistics.median(seconds):.3f} max={worst:.3f} | budget {BUDGET_SECONDS:g} s | "
          f"max/budget={worst / BUDGET_SECONDS:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
