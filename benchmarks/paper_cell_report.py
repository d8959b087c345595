"""Our runs of one Table 1 cell beside the paper's: EOD (Acc), the differences, and each run's times.

Reads the JSON lines ``cobra-lab run --json`` printed (one file per run, as benchmarks/gpu_paper_cell.sh writes
them) and Table 1 from cobra_lab/paper_values.yaml. EOD is EOD_max, the paper's definition (Eq. 3). The render
column is ``data.render``: clean (ours) or reference (the pixels the published code paints).
Usage: ``python benchmarks/paper_cell_report.py RUN.json [RUN.json ...] [--json RESULTS.json]``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cobra_lab.bench.results import write_results
from cobra_lab.paper import cell
from cobra_lab.store import RunDir

EOD_POINTS = 5.0  # the tolerance: within 5 EOD points and 2 accuracy points of Table 1
ACC_POINTS = 2.0


def read_run(path: Path) -> dict:
    """The metrics a run printed (the last JSON line of the file), with its resolved config from the store."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{path}: no JSON line (did the run fail? see its .log beside it)")
    metrics = json.loads(lines[-1])
    metrics["config"] = RunDir.open(metrics["run_dir"]).config
    return metrics


def compare(run: dict) -> dict:
    """One run's setting, ours and the paper's EOD_max and accuracy, the gaps, whether close, and its times."""
    config = run["config"]
    paper = cell(1, dataset=config["dataset"], ipc=config["ipc"], method=config["method"], mode=config["mode"])
    row = {"dataset": config["dataset"], "method": config["method"], "mode": config["mode"], "ipc": config["ipc"],
           "profile": config["profile"], "render": config["data"]["render"],
           "iterations": config["distill"]["iterations"], "nets": run["runs"], "eod_max": run["eod_max"],
           "acc": run["acc"], "paper_eod_max": None, "paper_acc": None, "d_eod": None, "d_acc": None, "close": None,
           "distill_seconds": run.get("distill_seconds", 0.0), "eval_seconds": run.get("eval_seconds", 0.0),
           "seconds": run.get("seconds", 0.0), "stored": bool(run.get("cached")), "run_dir": run["run_dir"]}
    if paper is not None:
        row.update(paper_eod_max=paper[0], paper_acc=paper[1], d_eod=run["eod_max"] - paper[0],
                   d_acc=run["acc"] - paper[1])
        row["close"] = abs(row["d_eod"]) <= EOD_POINTS and abs(row["d_acc"]) <= ACC_POINTS
    return row


def report(rows: list[dict]) -> list[str]:
    """One line per ``compare`` row: ours and the paper's EOD (Acc), the gaps, whether within tolerance, the
    times."""
    head = (f"{'dataset':11} {'method':6} {'mode':7} {'ipc':>3} {'profile':7} {'render':9} {'iters':>6} "
            f"{'nets':>4} {'ours EOD (Acc)':>17} {'paper EOD (Acc)':>17} {'dEOD':>6} {'dAcc':>6} {'close':>5} "
            f"{'distill s':>9} {'eval s':>8} {'run s':>8}")
    lines = [head, "-" * len(head)]
    for row in rows:
        ours = f"{row['eod_max']:.2f} ({row['acc']:.1f})"
        if row["paper_acc"] is None:  # the paper has no such cell
            reference, gaps, close = "-", f"{'-':>6} {'-':>6}", "-"
        else:
            reference = f"{row['paper_eod_max']:.2f} ({row['paper_acc']:.1f})"
            gaps = f"{row['d_eod']:>+6.1f} {row['d_acc']:>+6.1f}"
            close = "yes" if row["close"] else "no"
        stored = " (stored)" if row["stored"] else ""
        lines.append(f"{row['dataset']:11} {row['method']:6} {row['mode']:7} {row['ipc']:>3} {row['profile']:7} "
                     f"{row['render']:9} {row['iterations']:>6} {row['nets']:>4} {ours:>17} {reference:>17} {gaps} "
                     f"{close:>5} {row['distill_seconds']:>9.1f} {row['eval_seconds']:>8.1f} "
                     f"{row['seconds']:>8.1f}{stored}")
    lines.append(f"close: within {EOD_POINTS:g} EOD points and {ACC_POINTS:g} accuracy points of Table 1; "
                 "times are each run's own (a stored run shows the times of when it ran)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the comparison for the run files given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="files holding a run's `cobra-lab run --json` output")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this results file")
    args = parser.parse_args(argv)
    rows = [compare(read_run(path)) for path in args.runs]
    print("\n".join(report(rows)))
    if args.json:
        write_results(args.json, "paper_cell", {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
