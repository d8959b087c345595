"""Time evaluation nets trained together (``eval.ensemble``) against the same nets trained one by one.

At two sizes, on random cfmnist-shaped synthetic sets (10 classes x IPC images of 3x32x32; the values do not
change the cost): quick (the quick profile's DM evaluation: ConvNet width 64, 3 nets) and paper (the paper
profile's: width 128, 10 nets). Each round trains every path for a few epochs, in turn, so a busy machine's
drift touches all paths alike; an epoch costs the same at any point of training (one pass over the set, the
lr decay changes no work), so a whole evaluation's time is estimated per path as
``profile epochs x median epoch time + prediction time`` on the profile's test images. Run
``python benchmarks/bench_eval.py --help``; the last line is ``ensemble/sequential quick=<x> paper=<y>``.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

from cobra_lab.bench.results import write_results
from cobra_lab.config import load_profile
from cobra_lab.ensemble import predict_ensemble
from cobra_lab.evaluate import train_eval_ensemble, train_eval_net
from cobra_lab.training import predict, resolve_device

CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
TEST_IMAGES = 10000  # cfmnist's test split
SIZES = ("quick", "paper")


def eval_config(profile: str, device: str, epochs: int, compile: bool) -> dict:
    """The profile's DM evaluation settings with ``epochs`` epochs (the resolved-config keys evaluation reads)."""
    settings = load_profile(profile)
    section = copy.deepcopy(settings["methods"]["dm"])
    section["eval"].update(epochs=epochs, compile=compile, ensemble=True)
    return {"seed": 0, "device": device, "net": settings["net"], **section}


def paths(config: dict, x: torch.Tensor, y: torch.Tensor, compile: bool) -> dict[str, Callable[[], Callable]]:
    """Each way of evaluating: a call that trains every net for the config's epochs and returns a call that
    predicts test images with them."""
    runs = list(range(int(config["eval"]["runs"])))

    def sequential() -> Callable:
        trained = [train_eval_net(x, y, config, CLASSES, run) for run in runs]
        return lambda test_x: [predict(net, test_x) for net in trained]

    def ensemble(compiled: bool) -> Callable[[], Callable]:
        setting = {**config, "eval": {**config["eval"], "compile": compiled}}

        def train() -> Callable:
            trained = train_eval_ensemble(x, y, setting, CLASSES, runs)
            return lambda test_x: predict_ensemble(trained, test_x)

        return train

    found = {"sequential": sequential, "ensemble eager": ensemble(False)}
    if compile:
        found["ensemble compiled"] = ensemble(True)
    return found


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so wall times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(call: Callable[[], object], device: torch.device) -> tuple[float, object]:
    """Wall seconds of one call, and what it returned."""
    synchronize(device)
    start = time.perf_counter()
    returned = call()
    synchronize(device)
    return time.perf_counter() - start, returned


def measure(size: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Median epoch and prediction seconds of every path at ``size``, interleaved over ``args.rounds`` rounds."""
    epochs = args.quick_epochs if size == "quick" else args.paper_epochs
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(CLASSES * args.ipc, *IMAGE_SHAPE, generator=generator).to(device)  # [N, 3, 32, 32]
    y = torch.arange(CLASSES).repeat_interleave(args.ipc).to(device)  # [N]
    test_x = torch.randn(args.test_images, *IMAGE_SHAPE, generator=generator).to(device)  # [M, 3, 32, 32]
    train = paths(eval_config(size, args.device, epochs, args.compile), x, y, args.compile)
    first = {name: timed(call, device)[0] for name, call in train.items()}  # compiles; never counted
    epoch_times: dict[str, list[float]] = {name: [] for name in train}
    predict_times: dict[str, list[float]] = {name: [] for name in train}
    for round_index in range(args.rounds):
        print(f"bench_eval: {size} round {round_index + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for name in train:
            train_seconds, predictor = timed(train[name], device)
            epoch_times[name].append(train_seconds / epochs)
            predict_times[name].append(timed(lambda: predictor(test_x), device)[0])
    profile_eval = load_profile(size)["methods"]["dm"]["eval"]
    result = {"epochs_timed": epochs, "profile_epochs": int(profile_eval["epochs"]),
              "nets": int(profile_eval["runs"]), "width": int(load_profile(size)["net"]["width"]), "paths": {}}
    for name in train:
        epoch, prediction = statistics.median(epoch_times[name]), statistics.median(predict_times[name])
        result["paths"][name] = {"first_call_s": first[name], "epoch_s": epoch, "predict_s": prediction,
                                 "estimate_s": result["profile_epochs"] * epoch + prediction}
    return result


def ratio(result: dict, path: str) -> float:
    """Estimated evaluation time of ``path`` over that of the sequential path."""
    return result["paths"][path]["estimate_s"] / result["paths"]["sequential"]["estimate_s"]


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
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the compiled ensemble (eval.compile) and use it in the summary; "
                             "--no-compile needs no C++ compiler")
    parser.add_argument("--json", default=None, help="also write every measurement to this JSON file "
                                                     "(benchmarks/results/bench_eval.json: the recorded one)")
    args = parser.parse_args(argv)
    if min(args.quick_epochs, args.paper_epochs, args.rounds, args.ipc, args.test_images) < 1:
        parser.error("--quick-epochs, --paper-epochs, --rounds, --ipc and --test-images must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; its last line is the one-line summary."""
    args = parse_args(argv)
    device = resolve_device(args.device)
    load_before = os.getloadavg()[0]
    results = {size: measure(size, args, device) for size in args.sizes}
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"device: {device}{threads}, torch {torch.__version__} | load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (other work shares them)")
    print(f"synthetic set: {CLASSES} classes x ipc {args.ipc} of 3x32x32, batch 256, DSA per image, "
          f"{args.test_images} test images; {args.rounds} interleaved rounds, median; the first call of each "
          f"path (compilation) is not counted")
    head = (f"{'size':6} {'nets':>4} {'width':>5} {'path':18} {'first s':>8} {'epoch ms':>9} {'predict s':>9} "
            f"{'estimate s':>10} {'/seq':>6}")
    print(head)
    print("-" * len(head))
    for size, result in results.items():
        for name, path in result["paths"].items():
            print(f"{size:6} {result['nets']:>4} {result['width']:>5} {name:18} {path['first_call_s']:>8.1f} "
                  f"{path['epoch_s'] * 1e3:>9.1f} {path['predict_s']:>9.2f} {path['estimate_s']:>10.1f} "
                  f"{ratio(result, name):>6.3f}")
        print(f"{size}: {result['epochs_timed']} epochs timed per call; estimate = {result['profile_epochs']} "
              f"epochs (the {size} profile's) x epoch time + prediction")
    if args.json:
        write_results(args.json, "bench_eval", {"device": str(device), "settings": vars(args), "results": results})
    chosen = "ensemble compiled" if args.compile else "ensemble eager"
    ratios = " ".join(f"{size}={ratio(result, chosen):.3f}" for size, result in results.items())
    print(f"ensemble/sequential {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
