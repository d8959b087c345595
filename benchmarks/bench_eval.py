"""Time evaluation nets trained together (``eval.ensemble``) against the same nets trained one by one.

At two sizes, on random cfmnist-shaped synthetic sets (10 classes x IPC images of 3x32x32; the values do not
change the cost): quick (the quick profile's DM evaluation: ConvNet width 64, 3 nets) and paper (the paper
profile's: width 128, 10 nets). Each round trains every path for a few epochs, in turn, so a busy machine's
drift touches all paths alike, each in a fresh process (after a first, uncounted call there that compiles);
an epoch costs the same at any point of training (one pass over the set, the lr decay changes no work), so a
whole evaluation's time is estimated per path as
``profile epochs x median epoch time + prediction time`` on the profile's test images. Run
``python benchmarks/bench_eval.py --help``; the last line is ``ensemble/sequential quick=<x> paper=<y>``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from cobra_lab.accel.memory import keep_freed_memory
from cobra_lab.bench.children import child_last_line
from cobra_lab.bench.fake_data import RANDOM
from cobra_lab.bench.results import write_results
from cobra_lab.bench.step_setup import step_config
from cobra_lab.bench.timing import synchronize
from cobra_lab.config import load_profile
from cobra_lab.ensemble import predict_ensemble
from cobra_lab.evaluate import eval_chunk, prediction_batch, train_eval_ensemble, train_eval_net
from cobra_lab.sections import RunConfig
from cobra_lab.training import predict, resolve_device

CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
TEST_IMAGES = 10000  # cfmnist's test split
SIZES = ("quick", "paper")


def eval_config(profile: str, device: str, epochs: int, compile: bool, chunk: int | str = "auto") -> RunConfig:
    """The profile's DM evaluation settings with ``epochs`` epochs (and its net)."""
    settings = load_profile(profile)
    config = step_config("dm", profile, RANDOM, 10, settings["net"]["width"],
                         settings["methods"]["dm"]["distill"]["real_per_class"], False, 0, device)
    return replace(config, eval=replace(config.eval, epochs=epochs, compile=compile, ensemble=True, chunk=chunk))


def paths(config: RunConfig, x: torch.Tensor, y: torch.Tensor, compile: bool) -> dict[str, Callable[[], Callable]]:
    """Each way of evaluating: a call that trains every net for the config's epochs and returns a call that
    predicts test images with them."""
    runs = list(range(config.eval.runs))
    batch = prediction_batch(config, x.device)

    def sequential() -> Callable:
        trained = [train_eval_net(x, y, config, CLASSES, run) for run in runs]
        return lambda test_x: [predict(net, test_x, batch) for net in trained]

    def ensemble(compiled: bool) -> Callable[[], Callable]:
        setting = replace(config, eval=replace(config.eval, compile=compiled))

        def train() -> Callable:
            trained = train_eval_ensemble(x, y, setting, CLASSES, runs)
            return lambda test_x: predict_ensemble(trained, test_x, batch)

        return train

    found = {"sequential": sequential, "ensemble eager": ensemble(False)}
    if compile:
        found["ensemble compiled"] = ensemble(True)
    return found


def timed(call: Callable[[], object], device: torch.device) -> tuple[float, object]:
    """Wall seconds of one call, and what it returned."""
    synchronize(device)
    start = time.perf_counter()
    returned = call()
    synchronize(device)
    return time.perf_counter() - start, returned


def time_path(size: str, name: str, args: argparse.Namespace, device: torch.device) -> dict:
    """In this process: path ``name`` at ``size`` called once (compiling; not counted), then timed over one call
    of the size's epochs and one prediction of the test images."""
    epochs = args.quick_epochs if size == "quick" else args.paper_epochs
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(CLASSES * args.ipc, *IMAGE_SHAPE, generator=generator).to(device)  # [N, 3, 32, 32]
    y = torch.arange(CLASSES).repeat_interleave(args.ipc).to(device)  # [N]
    test_x = torch.randn(args.test_images, *IMAGE_SHAPE, generator=generator).to(device)  # [M, 3, 32, 32]
    train = paths(eval_config(size, args.device, epochs, args.compile, args.chunk), x, y, args.compile)[name]
    first = timed(train, device)[0]
    train_seconds, predictor = timed(train, device)
    return {"first_call_s": first, "epoch_s": train_seconds / epochs,
            "predict_s": timed(lambda: predictor(test_x), device)[0]}


def path_names(compile: bool) -> list[str]:
    """The paths timed: one by one, the eager ensemble and, with ``compile``, the compiled one."""
    return ["sequential", "ensemble eager", *(["ensemble compiled"] if compile else [])]


def child_times(size: str, name: str, args: argparse.Namespace) -> dict:
    """``time_path`` run in a fresh Python process, so no path inherits another's allocator state, thread pools
    or compiler workers (in one process the eager path was measured up to a fifth slower after a compiled one)."""
    options = ["--sizes", size, "--child", name, "--quick-epochs", str(args.quick_epochs), "--paper-epochs",
               str(args.paper_epochs), "--ipc", str(args.ipc), "--test-images", str(args.test_images), "--device",
               args.device, "--chunk", str(args.chunk), "--compile" if args.compile else "--no-compile",
               *(["--threads", str(args.threads)] if args.threads is not None else [])]
    return json.loads(child_last_line([sys.executable, __file__, *options],
                                      f"bench_eval: timing {name!r} at the {size} size"))


def measure(size: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Median epoch and prediction seconds of every path at ``size``, each call in its own process, the paths
    interleaved over ``args.rounds`` rounds."""
    names = path_names(args.compile)
    times: dict[str, list[dict]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in names:
            print(f"bench_eval: {size} round {round_index + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            times[name].append(child_times(size, name, args))
    profile = load_profile(size)
    profile_eval = profile["methods"]["dm"]["eval"]
    config = eval_config(size, args.device, 1, args.compile, args.chunk)
    result = {"epochs_timed": args.quick_epochs if size == "quick" else args.paper_epochs,
              "profile_epochs": int(profile_eval["epochs"]), "nets": int(profile_eval["runs"]),
              "width": int(profile["net"]["width"]), "chunk": eval_chunk(config, device), "paths": {}}
    for name, calls in times.items():
        median = {key: statistics.median(call[key] for call in calls) for key in calls[0]}
        result["paths"][name] = {**median, "estimate_s": result["profile_epochs"] * median["epoch_s"]
                                 + median["predict_s"], "calls": calls}
    return result


def ratio(result: dict, path: str) -> float:
    """Estimated evaluation time of ``path`` over that of the sequential path."""
    return result["paths"][path]["estimate_s"] / result["paths"]["sequential"]["estimate_s"]


def auto_or_positive(text: str) -> int | str:
    """``auto`` or a whole number of at least 1 (an ``argparse`` type)."""
    if text == "auto":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number >= 1, got {text!r}")
    return int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick-epochs", type=int, default=10, help="epochs per timed call at the quick size")
    parser.add_argument("--paper-epochs", type=int, default=3, help="epochs per timed call at the paper size "
                                                                  "(the paper profile trains 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median over them)")
    parser.add_argument("--ipc", type=int, default=10, help="synthetic images per class")
    parser.add_argument("--test-images", type=int, default=TEST_IMAGES, help="test images each net predicts")
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--chunk", type=auto_or_positive, default="auto",
                        help="images per pass of an evaluation net (eval.chunk; default auto)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the compiled ensemble (eval.compile) and use it in the summary; "
                             "--no-compile needs no C++ compiler")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of every timed process "
                                                                   "(default: torch's)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # time one path here (measure's processes)
    parser.add_argument("--json", default=None, help="also write every measurement to this JSON file "
                                                     "(benchmarks/results/bench_eval.json: the recorded one)")
    args = parser.parse_args(argv)
    threads = 1 if args.threads is None else args.threads
    if min(args.quick_epochs, args.paper_epochs, args.rounds, args.ipc, args.test_images, threads) < 1:
        parser.error("--quick-epochs, --paper-epochs, --rounds, --ipc, --test-images and --threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; its last line is the one-line summary."""
    args = parse_args(argv)
    keep_freed_memory()  # as a run does
    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(time_path(args.sizes[0], args.child, args, device)))
        return 0
    load_before = os.getloadavg()[0]
    results = {size: measure(size, args, device) for size in args.sizes}
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"device: {device}{threads}, torch {torch.__version__} | load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (other work shares them)")
    print(f"synthetic set: {CLASSES} classes x ipc {args.ipc} of 3x32x32, batch 256, DSA per image, "
          f"{args.test_images} test images; {args.rounds} interleaved rounds, median (range: the rounds' "
          f"epochs), each call in a fresh process after a first call there (compilation) that is not counted")
    head = (f"{'size':6} {'nets':>4} {'width':>5} {'path':18} {'first s':>8} {'epoch ms':>9} {'range':>11} "
            f"{'predict s':>9} {'estimate s':>10} {'/seq':>6}")
    print(head)
    print("-" * len(head))
    for size, result in results.items():
        for name, path in result["paths"].items():
            epochs = [call["epoch_s"] * 1e3 for call in path["calls"]]
            print(f"{size:6} {result['nets']:>4} {result['width']:>5} {name:18} {path['first_call_s']:>8.1f} "
                  f"{path['epoch_s'] * 1e3:>9.1f} {f'{min(epochs):.0f}-{max(epochs):.0f}':>11} "
                  f"{path['predict_s']:>9.2f} {path['estimate_s']:>10.1f} {ratio(result, name):>6.3f}")
        print(f"{size}: {result['epochs_timed']} epochs timed per call; estimate = {result['profile_epochs']} "
              f"epochs (the {size} profile's) x epoch time + prediction; passes of {result['chunk']} images "
              f"(eval.chunk) in training the ensemble and in every prediction")
    if args.json:
        write_results(args.json, "bench_eval", {"device": str(device), "settings": vars(args), "results": results})
    chosen = "ensemble compiled" if args.compile else "ensemble eager"
    ratios = " ".join(f"{size}={ratio(result, chosen):.3f}" for size, result in results.items())
    print(f"ensemble/sequential {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
