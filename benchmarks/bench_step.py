"""Time one distillation step of cobra-lab's engine against a step written the way the reference code loops.

The command line of ``cobra_lab.bench.step`` (its docstring says what is measured); README.md here says how to
run it and where its results go."""
from __future__ import annotations

import argparse
import sys

from cobra_lab.accel.memory import keep_freed_memory
from cobra_lab.bench.results import write_results
from cobra_lab.bench.step import METHOD_NAMES, PROFILE_GROUPS, StepOptions, measure_all, step_options
from cobra_lab.bench.step_report import report_lines
from cobra_lab.errors import UserError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Time one distillation step (DM, DC, IDC, CAFE x vanilla, fairdd, cobra) of "
                    "cobra-lab's engine against a reference-style per-class loop, on random cfmnist-shaped data "
                    "or a dataset's real images. "
                    "The last line summarises at the largest G given (labelled with it, e.g. DM@G10).")
    parser.add_argument("--profile", choices=tuple(PROFILE_GROUPS), default="quick",
                        help="the profile whose DM / DC / IDC / CAFE settings, net width, real budget and G values are "
                             "the defaults; paper: width 128, 256 real images per class, G = 10, with the paper's "
                             "Table 13 (H100) printed beside ours")
    parser.add_argument("--dataset", default="random",
                        help="random (cfmnist-shaped noise, any G) or a dataset's name (its real train images; G at "
                             "most its number of groups, group g counted as g mod G)")
    parser.add_argument("--groups", type=int, nargs="+", default=None, help="G values, each >= 2 (default: "
                                                                            "the profile's on random data, the "
                                                                            "dataset's own number otherwise)")
    parser.add_argument("--ipc", type=int, default=10, help="synthetic images per class")
    parser.add_argument("--real-per-class", type=int, default=None,
                        help="real images per class per step (default: the profile's)")
    parser.add_argument("--width", type=int, default=None, help="ConvNet width, depth 3, instance norm "
                                                                "(default: the profile's)")
    parser.add_argument("--methods", nargs="+", choices=METHOD_NAMES, default=list(METHOD_NAMES),
                        help="the methods to time (default: all)")
    parser.add_argument("--images-per-class", type=int, default=600, help="train images per class the steps draw from")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per configuration (median, mean and std)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory per configuration (CPU: one fresh process each)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="compile the engine's passes as the profiles do (distill.compile); "
                             "--no-compile times eager code and needs no C++ compiler")
    parser.add_argument("--json", default=None, help="also write every measurement to this JSON file "
                                                     "(benchmarks/results/bench_step-<profile>.json: the recorded "
                                                     "one; outputs/benchmarks/: what notebook 13 reads)")
    return parser.parse_args(argv)


def options_of(args: argparse.Namespace) -> StepOptions:
    """The benchmark's options from the command line's (the profile's sizes where none is given)."""
    return step_options(args.profile, args.dataset, args.groups, args.ipc, args.real_per_class, args.width,
                        args.methods, args.images_per_class, args.steps, args.warmup, args.device, args.seed,
                        args.memory, args.compile)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; its last line is the one-line summary."""
    args = parse_args(argv)
    keep_freed_memory()  # as a run does
    measured = measure_all(options_of(args))
    lines = report_lines(measured)
    print("\n".join(lines[:-1]))
    if args.json:
        write_results(args.json, "bench_step", measured.records())
    print(lines[-1])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(f"bench_step.py: error: {error}")
