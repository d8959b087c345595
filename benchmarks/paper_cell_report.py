"""Our runs of one Table 1 cell beside the paper's: EOD (Acc), the differences, and each run's times.

Reads the JSON lines ``cobra-lab run --json`` printed (one file per run, as benchmarks/gpu_paper_cell.sh writes
them) and Table 1 from cobra_lab/paper_values.yaml. EOD is EOD_max, the paper's definition (Eq. 3).
Usage: ``python benchmarks/paper_cell_report.py RUN.json [RUN.json ...]``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def report(runs: list[dict]) -> list[str]:
    """One row per run: ours and the paper's EOD (Acc), the gaps, whether within tolerance, the times."""
    head = (f"{'dataset':11} {'method':6} {'mode':7} {'ipc':>3} {'profile':7} {'iters':>6} {'nets':>4} "
            f"{'ours EOD (Acc)':>17} {'paper EOD (Acc)':>17} {'dEOD':>6} {'dAcc':>6} {'close':>5} {'distill s':>9} "
            f"{'eval s':>8} {'run s':>8}")
    lines = [head, "-" * len(head)]
    for run in runs:
        config = run["config"]
        paper = cell(1, dataset=config["dataset"], ipc=config["ipc"], method=config["method"], mode=config["mode"])
        ours = f"{run['eod_max']:.2f} ({run['acc']:.1f})"
        if paper is None:
            reference, gaps, close = "-", f"{'-':>6} {'-':>6}", "-"
        else:
            d_eod, d_acc = run["eod_max"] - paper[0], run["acc"] - paper[1]
            reference = f"{paper[0]:.2f} ({paper[1]:.1f})"
            gaps = f"{d_eod:>+6.1f} {d_acc:>+6.1f}"
            close = "yes" if abs(d_eod) <= EOD_POINTS and abs(d_acc) <= ACC_POINTS else "no"
        stored = " (stored)" if run.get("cached") else ""
        lines.append(f"{config['dataset']:11} {config['method']:6} {config['mode']:7} {config['ipc']:>3} "
                     f"{config['profile']:7} {config['distill']['iterations']:>6} {run['runs']:>4} {ours:>17} "
                     f"{reference:>17} {gaps} {close:>5} "
                     f"{run.get('distill_seconds', 0.0):>9.1f} {run.get('eval_seconds', 0.0):>8.1f} "
                     f"{run.get('seconds', 0.0):>8.1f}{stored}")
    lines.append(f"close: within {EOD_POINTS:g} EOD points and {ACC_POINTS:g} accuracy points of Table 1; "
                 "times are each run's own (a stored run shows the times of when it ran)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the comparison for the run files given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="files holding a run's `cobra-lab run --json` output")
    args = parser.parse_args(argv)
    print("\n".join(report([read_run(path) for path in args.runs])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
