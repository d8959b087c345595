"""Time ``cobra-lab data add`` on a generated folder of small PNG images: decode-and-cache throughput, then load.

Writes N random-noise PNG images (two classes, two groups, SIDE x SIDE RGB) and their labels CSV into a scratch
folder, adds them as a dataset (content digest, parallel decoding, the data cache), then loads the dataset twice:
the first load builds its splits from the decoded cache, the second reads them back. Prints one line per phase
and ``decode images_per_second=<r> | add <s> s | first load <s> s | cached load <s> s``.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from cobra_lab.bench.results import write_results
from cobra_lab.errors import UserError


def write_folder(folder: Path, images: int, side: int, seed: int = 0) -> Path:
    """``images`` PNG files of noise under ``folder/images`` and their labels CSV; returns the CSV."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    rows = [("path", "class", "group")]
    for i in range(images):
        name = f"{i:06d}.png"
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / "images" / name)
        rows.append((name, f"class{i % 2}", f"group{(i // 2) % 2}"))
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return labels


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="images to write and decode (default 10000)")
    parser.add_argument("--side", type=int, default=32, help="image side in pixels (default 32)")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: one per CPU)")
    parser.add_argument("--json", default=None, help="also write the measurements to this JSON file "
                                                     "(benchmarks/results/bench_decode.json: the recorded one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Write the folder, time ``add_dataset`` and two loads in a scratch data folder, print the summary line."""
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench_decode-"))
    os.environ["COBRA_LAB_DATA"] = str(scratch / "data")
    os.environ["COBRA_LAB_DATASETS"] = str(scratch / "datasets")
    from cobra_lab.data import load
    from cobra_lab.data.own import add_dataset

    try:
        began = time.perf_counter()
        labels = write_folder(scratch / "folder", args.images, args.side)
        print(f"wrote {args.images} {args.side}x{args.side} PNG files in {time.perf_counter() - began:.1f} s",
              flush=True)
        began = time.perf_counter()
        add_dataset("bench", labels.parent / "images", labels, size=args.side, channels=3, workers=args.workers)
        add_seconds = time.perf_counter() - began
        loads = []
        for _ in range(2):
            began = time.perf_counter()
            load("bench")
            loads.append(time.perf_counter() - began)
    except UserError as error:
        sys.exit(f"bench_decode: {error}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rate = args.images / add_seconds
    print(f"decode images_per_second={rate:.0f} | add {add_seconds:.2f} s | first load {loads[0]:.2f} s | "
          f"cached load {loads[1]:.2f} s")
    if args.json:
        write_results(args.json, "bench_decode", {
            "images": args.images, "side": args.side, "workers": args.workers or os.cpu_count(),
            "images_per_second": rate, "add_seconds": add_seconds, "first_load_seconds": loads[0],
            "cached_load_seconds": loads[1]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
