"""Where one DM step's time goes, eager against compiled, and what CUDA graphs or cuDNN autotuning add on top.

Times ``--steps`` steps of the engine's DM step (bench_step.py's set-up at ``--profile``'s sizes, ``--mode``) in
each of four variants: eager; compiled as the profiles run it (``distill.compile``); compiled with
``torch.backends.cudnn.benchmark`` on; compiled in inductor's ``reduce-overhead`` mode (CUDA graphs). For each it
prints the first step's seconds (compilation), milliseconds a step (steps queued back to back, as the loop
queues them) and, with ``--kernels N``, torch.profiler's N costliest operations of five steps. Last line:
``ms/step eager=<a> compiled=<b> cudnn-benchmark=<c> cuda-graphs=<d>``.
Example (GPU): ``python benchmarks/profile_step.py --device cuda --profile paper --kernels 20``.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator

import torch
from torch.profiler import ProfilerActivity, profile

import cobra_lab.accel.compiled as compiled_passes
from cobra_lab.bench.fake_data import make_data
from cobra_lab.bench.step import ours_step, step_options
from cobra_lab.bench.step_setup import make_setup
from cobra_lab.bench.timing import synchronize
from cobra_lab.errors import UserError

VARIANTS = {  # name -> (compile, cudnn.benchmark, inductor mode)
    "eager": (False, False, None),
    "compiled": (True, False, None),
    "cudnn-benchmark": (True, True, None),
    "cuda-graphs": (True, False, "reduce-overhead"),
}
COMPILE_FUNCTION = compiled_passes.compile_function


@contextlib.contextmanager
def variant_settings(variant: str) -> Iterator[None]:
    """``variant``'s cuDNN autotuning and inductor mode while it runs, its own compilations; restored after."""
    _, autotune, mode = VARIANTS[variant]
    torch.backends.cudnn.benchmark = autotune
    compiled_passes._COMPILED.clear()  # each variant compiles its own passes
    if mode:
        compiled_passes.compile_function = lambda function: torch.compile(function, dynamic=False, mode=mode)
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = False
        compiled_passes.compile_function = COMPILE_FUNCTION
        compiled_passes._COMPILED.clear()


def variant_step(args: argparse.Namespace, variant: str) -> tuple[Callable[[], torch.Tensor], torch.device]:
    """A fresh DM step set up for ``variant``'s compile setting."""
    compile_ = VARIANTS[variant][0]
    options = step_options(args.profile, groups=[10], ipc=args.ipc, real_per_class=args.real_per_class,
                           width=args.width, methods=["dm"], images_per_class=args.images_per_class,
                           device=args.device, seed=args.seed, compile=compile_)
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    data = make_data(10, options.images_per_class, args.seed)
    setup = make_setup(data, data.train.x.to(device), options.config("dm"), device)
    return ours_step(setup, data, args.mode), device


def measure(args: argparse.Namespace, variant: str) -> float:
    """Print and return one variant's milliseconds a step; with ``--kernels``, its costliest operations."""
    with variant_settings(variant):
        return measure_step(args, variant, *variant_step(args, variant))


def measure_step(args: argparse.Namespace, variant: str, step: Callable[[], torch.Tensor],
                 device: torch.device) -> float:
    """``measure`` of a set-up step."""
    began = time.perf_counter()
    step()
    synchronize(device)
    first = time.perf_counter() - began
    for _ in range(3):
        step()
    synchronize(device)
    began = time.perf_counter()
    for _ in range(args.steps):
        step()
    synchronize(device)
    ms = (time.perf_counter() - began) / args.steps * 1e3
    failed = " (compiling failed: eager)" if compiled_passes.compilation_failed() else ""
    print(f"== {variant}: first step {first:.1f} s, {ms:.2f} ms a step{failed}", flush=True)
    if args.kernels:
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=activities) as profiler:
            for _ in range(5):
                step()
            synchronize(device)
        key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
        print(profiler.key_averages().table(sort_by=key, row_limit=args.kernels, max_name_column_width=60))
    return ms


def main(argv: list[str] | None = None) -> int:
    """Measure every variant asked for and print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
    parser.add_argument("--profile", default="paper", help="the profile whose DM sizes to use (as bench_step.py)")
    parser.add_argument("--mode", choices=("vanilla", "fairdd", "cobra"), default="cobra")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--kernels", type=int, default=0, help="print this many costliest operations per variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ipc", type=int, default=10, help="synthetic images per class (as bench_step.py)")
    parser.add_argument("--width", type=int, default=None, help="ConvNet width (default: the profile's)")
    parser.add_argument("--real-per-class", type=int, default=None,
                        help="real images per class per step (default: the profile's)")
    parser.add_argument("--images-per-class", type=int, default=600, help="random train images per class")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.kernels < 0:
        parser.error("--steps must be at least 1 and --kernels at least 0")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("no CUDA device here; use --device cpu")
    times = {variant: measure(args, variant) for variant in args.variants}
    print("ms/step " + " ".join(f"{variant}={ms:.2f}" for variant, ms in times.items()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(f"profile_step.py: error: {error}")
