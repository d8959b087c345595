"""Calibrate a profile's distillation budget against the paper's Table 1 (cobra_lab.studies.calibration).

For one backbone, distills each mode once to the largest budget, evaluates the set after every budget of the
ladder as a run of the store (outputs/, so a re-run recomputes nothing and an interrupted one goes on), and prints
one line per (mode, budget): EOD_max, EOD_mean, accuracy, distill and evaluation seconds, the paper's cell and
whether ours lands near it (EOD_max within 1.5x, accuracy at most 3 points below, distill + evaluate within
the time limit; "no paper cell" where the paper reports none). The last line is ``smallest budget near the
paper: <k>`` (or ``none``, saying so where the paper reports no cell).
``--json`` writes the rows to a results file and the figure (budget against each metric, the paper dashed)
beside it as a PNG, after every row.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pandas as pd

from cobra_lab.bench.results import write_results
from cobra_lab.config import parse_override, profile_names
from cobra_lab.errors import UserError
from cobra_lab.methods import METHODS
from cobra_lab.plots import save_figure
from cobra_lab.studies.calibration import (
    TIME_LIMIT_SECONDS,
    Ladder,
    calibrate,
    calibration_figure,
    near_paper,
    smallest_budget,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True, choices=METHODS.names(), help="the backbone")
    parser.add_argument("--budgets", type=int, nargs="+", required=True, help="distillation iterations to try")
    parser.add_argument("--modes", nargs="+", default=["vanilla", "fairdd", "cobra"], help="modes to run")
    parser.add_argument("--profile", default="cpu", help="the profile the budgets override (default cpu)")
    parser.add_argument("--dataset", default="cfmnist_bg")
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key of every run (as cobra-lab run --set)")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_SECONDS,
                        help="seconds one run (distill + evaluate) may take to count as near the paper")
    parser.add_argument("--out", default=None, help="the run store (default outputs/ or $COBRA_LAB_OUTPUTS)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file and the figure beside "
                                                     "it (.png); benchmarks/results/calibrate_cpu-<method>.json: "
                                                     "the recorded ones")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def row_line(row: pd.Series, near: bool) -> str:
    """One printed row: mode, budget, our cell, the paper's and the verdict."""
    return (f"{row['mode']:<8} {row['budget']:>6} it: EOD_max {row['eod_max']:6.2f} EOD_mean {row['eod_mean']:6.2f} "
            f"acc {row['acc']:6.2f} | distill {row['distill_seconds']:6.1f} s eval {row['eval_seconds']:6.1f} s | "
            f"paper {row['paper_eod_max']:6.2f} ({row['paper_acc']:5.1f}) | "
            f"{'no paper cell' if pd.isna(row['paper_eod_max']) else 'near' if near else 'far'}")


def save(table: pd.DataFrame, args: argparse.Namespace, ladder: Ladder) -> None:
    """Write the results file and the figure beside it."""
    config = ladder.config(ladder.modes[0], ladder.budgets[0])
    settings = {"net": config["net"], "eval": config["eval"],
                "distill": {key: value for key, value in config["distill"].items() if key != "iterations"}}
    write_results(args.json, "calibrate_cpu", {
        "method": ladder.method, "dataset": ladder.dataset, "ipc": ladder.ipc, "seed": ladder.seed,
        "profile": ladder.profile, "overrides": ladder.overrides, "settings": settings,
        "time_limit_seconds": args.time_limit,
        "smallest_budget_near_paper": smallest_budget(table, time_limit=args.time_limit),
        "rows": json.loads(table.to_json(orient="records"))})  # NaN (no paper value) as null
    save_figure(calibration_figure(table), Path(args.json).with_suffix(".png"))


def main(argv: list[str] | None = None) -> int:
    """Run the ladder, print a line per row and the smallest budget near the paper; write the results."""
    args = parse_args(argv)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    try:
        if args.profile not in profile_names():
            raise UserError(f"unknown profile {args.profile!r}; known: {', '.join(profile_names())}")
        ladder = Ladder(args.method, tuple(args.budgets), args.dataset, args.ipc, args.seed, args.profile,
                        tuple(args.modes), dict(parse_override(text) for text in args.set))

        def report(table: pd.DataFrame) -> None:
            row = table.iloc[-1]
            print(row_line(row, bool(near_paper(table.iloc[[-1]], args.time_limit).iloc[0])), flush=True)
            if args.json:
                save(table, args, ladder)

        table = calibrate(ladder, args.out, progress=not args.no_progress, on_row=report)
    except UserError as error:
        sys.exit(f"calibrate_cpu: {error}")
    chosen = smallest_budget(table, time_limit=args.time_limit)
    unreported = " (the paper reports no cell here)" if table["paper_eod_max"].isna().all() else ""
    print(f"smallest budget near the paper: {chosen if chosen is not None else 'none'}{unreported}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
