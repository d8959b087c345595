"""The ``cobra-lab`` command line. Each command group is one ``add_*_commands`` function registered in
COMMAND_GROUPS; a UserError or a malformed command line becomes one ``cobra-lab: error: ...`` line on stderr
and exit code 2, and output cut short by its reader (``| head``) ends quietly."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from .errors import StoreWriteFailed, UserError
from .io import write_failure
from .paths import check_writable
from .reproduction.command import add_reproduce_commands

IMAGE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")
DATA_OPTIONS = ("skew", "gap", "semantic_gap", "group_noise", "known_groups", "imputation", "render")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(text: str) -> int | float:
    """An int when ``text`` spells one, else a float; the loader checks ranges so errors name them."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """The benchmark name and the bias / group options that ``cobra_lab.data.load`` takes."""
    parser.add_argument("name", help="benchmark name (cobra-lab data list shows them)")
    _add_bias_options(parser)
    parser.add_argument("--root", default=None, help="data folder (default $COBRA_LAB_DATA, else <repo>/data)")


def _add_bias_options(parser: argparse.ArgumentParser) -> None:
    """The bias and group options of a benchmark, and the seed (unset ones take the schema's defaults)."""
    parser.add_argument("--skew", type=_number, help="fraction of each class in its majority group, in [1/G, 1] "
                        "(default 0.9)")
    parser.add_argument("--gap", type=_number, help="GAP corruption level of minority images, 0..4 (default 0)")
    parser.add_argument("--semantic-gap", type=_number,
                        help="constant colour offset gamma >= 0 added to minority images (default 0)")
    parser.add_argument("--group-noise", type=_number,
                        help="fraction rho of train group labels replaced by a wrong group, in [0, 1] (default 0)")
    parser.add_argument("--known-groups", type=_number, help="fraction eta of train group labels known, in (0, 1]; "
                        "the rest imputed by K-means (default 1)")
    parser.add_argument("--imputation", help="how the unknown group labels are imputed: pixels_kmeans (default, the "
                        "paper's: K-means on the flattened images, K = number of groups) or pooled_kmeans (K-means "
                        "on 4x4-pooled channels, K = 4 x groups)")
    parser.add_argument("--render", help="clean (default); reference: the pixels the published FairDD / COBRA "
                        "code paints (cfmnist_bg, cdigits_bg: its background arithmetic overflows there); or shared: "
                        "every image painted alike whatever its group and every test image in every group, so "
                        "groups differ by the GAP ladder alone (the paper's GAP sweep)")
    parser.add_argument("--seed", type=_number, default=0, help="seed of every random choice (default 0)")


def _data_options(args: argparse.Namespace) -> dict:
    """The bias options given on the command line."""
    return {key: getattr(args, key) for key in DATA_OPTIONS if getattr(args, key) is not None}


def _load(args: argparse.Namespace):
    """The GroupedData the dataset options describe."""
    from .data import load  # deferred: torch takes a while to import

    return load(args.name, **_data_options(args), seed=args.seed, root=args.root)


def _table(title: str, counts: list[list[int]], rows: Sequence[str], cols: Sequence[str]) -> str:
    """A plain-text class x group table."""
    head = "class \\ group"
    first = max(len(head), *(len(r) for r in rows))
    widths = [max(len(c), *(len(str(row[j])) for row in counts)) for j, c in enumerate(cols)]
    lines = [title, f"{head:<{first}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cols, widths))]
    lines += [f"{r:<{first}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(row, widths)) for r, row in zip(rows, counts)]
    return "\n".join(lines)


def format_description(info: dict) -> str:
    """``GroupedData.describe()`` as readable text."""
    shown = {key: value for key, value in info["params"].items()
             if key != "name" and (key, value) not in (("content", None), ("imputation", None))}
    if shown.get("content"):
        shown["content"] = shown["content"][:12] + "..."  # the digest of a user's set's files (in full with --json)
    params = ", ".join(f"{key}={value}" for key, value in shown.items())
    shape = "x".join(str(n) for n in info["image_shape"])
    parts = [f"{info['name']}: {len(info['classes'])} classes x {len(info['groups'])} groups, images {shape}",
             f"parameters: {params}"]
    for split in ("train", "test"):
        entry = info[split]
        parts.append(_table(f"\n{split}: {entry['size']} images", entry["counts"], info["classes"], info["groups"]))
        if split == "train":
            parts.append("skew (each class's share in its largest group): "
                         + ", ".join(f"{name} {skew:.2f}" for name, skew in zip(info["classes"], entry["skew"])))
        if "observed_group_accuracy" in entry:
            parts.append(f"observed groups equal the true group for {entry['observed_group_accuracy']:.2%} "
                         f"of {split} images")
    return "\n".join(parts)


def _data_list(args: argparse.Namespace) -> int:
    """Print the dataset names."""
    from .data import DATASETS

    print("\n".join(DATASETS.names()))
    return 0


def _data_describe(args: argparse.Namespace) -> int:
    """Print the counts and parameters of one benchmark."""
    info = _load(args).describe()
    print(json.dumps(info, indent=2) if args.json else format_description(info))
    return 0


def _data_show(args: argparse.Namespace) -> int:
    """Write the example-image grid of one benchmark, atomically."""
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise UserError(f"--out must end in one of .{', .'.join(IMAGE_FORMATS)}, got {args.out!r}")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; name an image file")
    check_writable(out.parent, "image folder (--out)")
    from .plots import image_grid, save_figure  # deferred: matplotlib takes a second to import

    save_figure(image_grid(_load(args), split=args.split, per_cell=args.per_cell, seed=args.seed), out)
    print(f"wrote {out}")
    return 0


def _data_add(args: argparse.Namespace) -> int:
    """Check an image folder and its CSV, cache the decoded images and write params/datasets/<name>.yaml."""
    from .data.own import add_dataset

    columns = {role: getattr(args, f"{role}_column") for role in ("path", "class", "group", "split")
               if getattr(args, f"{role}_column") is not None}
    added = add_dataset(args.name, args.images, args.labels, columns=columns, size=args.size, channels=args.channels,
                        test_per_cell=args.test_per_cell, skew=args.skew, replace=args.replace, workers=args.workers,
                        root=args.root, progress=not args.quiet)
    if added.chosen:
        print(added.chosen)
    print(added.summary())
    return 0


def _data_example(args: argparse.Namespace) -> int:
    """Write the example dataset (digits on coloured backgrounds, and its labels CSV) into a folder."""
    from .data.example import write_example

    labels = write_example(args.folder, skew=args.skew, per_class=args.per_class, seed=args.seed)
    print(f"wrote {sum(1 for _ in labels.open()) - 1} images and their labels {labels}")
    return 0


def _add_own_dataset_commands(sub: argparse._SubParsersAction) -> None:
    """``data add`` and ``data example``."""
    add = sub.add_parser("add", help="a dataset of your own: an image folder and a CSV of path, class, group (split)")
    add.add_argument("name", help="the dataset's name (letters, digits, _ and -), not a built-in one's")
    add.add_argument("--images", required=True, help="the image folder; the CSV's paths are relative to it")
    add.add_argument("--labels", required=True, help="the CSV: columns path, class, group, and optionally split "
                     "(train / test); other columns are ignored")
    for role in ("path", "class", "group", "split"):
        add.add_argument(f"--{role}-column", help=f"the CSV column holding the {role} (default: {role})")
    add.add_argument("--size", type=int, help="images are resized to SIZE x SIZE (default: chosen from the images)")
    add.add_argument("--channels", type=int, help="1 (grey) or 3 (RGB) (default: 3 if any image is in colour)")
    add.add_argument("--test-per-cell", type=int, default=None, help="without a split column, the test split takes "
                     "this many images of each (class, group), at most half the smallest (default 100)")
    add.add_argument("--skew", type=_number, help="subsample the train split to this SKEW by default (default: "
                     "the split as the CSV gives it; runs may still pass --skew)")
    add.add_argument("--workers", type=int, default=None, help="decoding processes (default: one per CPU)")
    add.add_argument("--replace", action="store_true", help="overwrite a dataset of this name with other options")
    add.add_argument("--root", default=None, help="data folder of the cache (default $COBRA_LAB_DATA, else "
                     "<repo>/data)")
    add.add_argument("--quiet", action="store_true", help="no progress bar")
    add.set_defaults(handler=_data_add)
    example = sub.add_parser("example", help="write a small biased dataset (digits on coloured backgrounds) to try "
                             "data add on")
    example.add_argument("folder", help="where to write images/ and labels.csv")
    example.add_argument("--skew", type=_number, default=0.8, help="each digit's share on its own colour in the "
                         "train split (default 0.8)")
    example.add_argument("--per-class", type=int, default=None, help="train and test images per digit (default: "
                         "all 1797 images)")
    example.add_argument("--seed", type=_number, default=0, help="seed of the colours drawn (default 0)")
    example.set_defaults(handler=_data_example)


def add_data_commands(commands: argparse._SubParsersAction) -> None:
    """``cobra-lab data list | describe | show | add | example``."""
    data = commands.add_parser("data", help="inspect the biased benchmarks, add your own")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{list,describe,show,add,example}")
    sub.add_parser("list", help="names of the benchmarks").set_defaults(handler=_data_list)
    describe = sub.add_parser("describe", help="images per (class, group) and the resolved parameters")
    _add_dataset_options(describe)
    describe.add_argument("--json", action="store_true", help="print JSON instead of a table")
    describe.set_defaults(handler=_data_describe)
    show = sub.add_parser("show", help="write a grid of example images, classes x groups")
    _add_dataset_options(show)
    show.add_argument("--out", required=True, help=f"image file to write (.{', .'.join(IMAGE_FORMATS)})")
    show.add_argument("--split", choices=("train", "test"), default="train")
    show.add_argument("--per-cell", type=int, default=1, help="images per (class, group) cell")
    show.set_defaults(handler=_data_show)
    _add_own_dataset_commands(sub)


def _run(args: argparse.Namespace) -> int:
    """Distill (or take the full set), evaluate and store one run; print its metrics."""
    from .config import parse_override, resolve
    from .runner import run_one  # deferred: torch takes a while to import

    overrides = dict(parse_override(text) for text in args.set)
    config = resolve(args.dataset, args.method, args.mode, args.ipc, profile=args.profile, seed=args.seed,
                     runs=args.runs, preset=args.preset, data=_data_options(args), overrides=overrides)
    metrics = run_one(config, root=args.out, progress=not args.quiet, data_root=args.root)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"{metrics['run_id']}: acc {metrics['acc']:.2f} +- {metrics['acc_std']:.2f}, "
              f"EOD_max {metrics['eod_max']:.2f} +- {metrics['eod_max_std']:.2f}, "
              f"EOD_mean {metrics['eod_mean']:.2f} +- {metrics['eod_mean_std']:.2f} "
              f"({metrics['runs']} nets{', from the store' if metrics['cached'] else ''}) -> {metrics['run_dir']}")
    return 0


def add_run_commands(commands: argparse._SubParsersAction) -> None:
    """``cobra-lab run``: one distillation + evaluation, stored under outputs/runs/."""
    run = commands.add_parser("run", help="distill, evaluate and store one run")
    run.add_argument("--dataset", required=True, help="benchmark name (cobra-lab data list shows them)")
    run.add_argument("--method", required=True, help="a distillation method of cobra_lab/methods/ (dm, ...; a wrong "
                     "name lists them), random or random_balanced (IPC real images per class, no mode), or full "
                     "(train on the whole biased train set)")
    run.add_argument("--mode", default="vanilla", help="vanilla, fairdd or cobra (default vanilla)")
    run.add_argument("--ipc", type=_number, default=10, help="synthetic images per class (default 10)")
    run.add_argument("--profile", default="quick", help="smoke, demo, quick, cpu or paper (params/profiles/)")
    run.add_argument("--preset", default=None, help="a preset of params/presets.yaml, e.g. cobra_official")
    run.add_argument("--runs", type=_number, default=None, help="evaluation nets (default: the profile's)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override any resolved config key, e.g. distill.iterations=500 (repeatable)")
    _add_bias_options(run)
    run.add_argument("--root", default=None, help="data folder (default $COBRA_LAB_DATA, else <repo>/data)")
    run.add_argument("--out", default=None, help="results folder (default $COBRA_LAB_OUTPUTS, else <repo>/outputs)")
    run.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(handler=_run)


def _sweep(args: argparse.Namespace) -> int:
    """Run the runs of a sweep file (stored ones are read back); print mean +- std per setting."""
    from .config import parse_override
    from .studies import grids_from_file
    from .sweep import MAX_RUNS, aggregate, run_grid

    overrides = dict(parse_override(text, "--param") for text in args.param)
    grids = grids_from_file(args.file, overrides)
    if args.csv:
        if Path(args.csv).is_dir():
            raise UserError(f"--csv {args.csv} is a folder; name a file")
        check_writable(Path(args.csv).parent, "CSV folder (--csv)")
    try:
        table = run_grid(grids, workers=args.workers, root=args.out, progress=not args.quiet,
                         max_runs=None if args.yes else MAX_RUNS, backend=args.backend, address=args.address,
                         cpus_per_run=args.cpus_per_run, gpus_per_run=args.gpus_per_run)
    except StoreWriteFailed as stopped:  # the rows still record which run stopped the sweep
        if args.csv:
            _write_csv(Path(args.csv), stopped.rows)
        raise
    if args.csv:
        _write_csv(Path(args.csv), table)
    summary = aggregate(table)
    columns = [c for c in summary.columns if summary[c].nunique(dropna=False) > 1 or c in ("mode", "acc", "eod_max")]
    print(summary[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    failed = table[table["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"cobra-lab: failed: {row['dataset']} {row['method']} {row['mode']}: {row['error']}", file=sys.stderr)
    print(f"{len(table)} runs: {int(table['cached'].sum())} from the store, {len(failed)} failed"
          + (f"; rows written to {args.csv}" if args.csv else ""), file=sys.stderr)
    return 1 if len(failed) else 0


def _write_csv(path: Path, table) -> None:
    """Write a sweep's rows as CSV, atomically."""
    from .io import atomic_write_bytes

    atomic_write_bytes(path, table.to_csv(index=False).encode())


def add_sweep_commands(commands: argparse._SubParsersAction) -> None:
    """``cobra-lab sweep``: a grid of runs from a study's parameter file or a ``grid:`` file."""
    sweep = commands.add_parser("sweep", help="run a grid of runs (stored ones are read back)")
    sweep.add_argument("file", help="params/<notebook>.yaml (a study's parameters) or a file with a 'grid:' entry")
    sweep.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override a top-level entry of the file, e.g. ipc=50 (repeatable)")
    sweep.add_argument("--workers", type=int, default=1, help="runs at a time, each in its own process")
    sweep.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine; ray: tasks on a Ray cluster (the ray extra)")
    sweep.add_argument("--address", default=None,
                       help="Ray cluster: auto or HOST:PORT (default $RAY_ADDRESS, else one started on "
                       "127.0.0.1 for the sweep)")
    sweep.add_argument("--cpus-per-run", type=_number, default=None, help="Ray: CPUs each run holds (default 1)")
    sweep.add_argument("--gpus-per-run", type=_number, default=None,
                       help="Ray: GPUs each run holds (default 0); 0.25 packs four runs on one GPU")
    sweep.add_argument("--out", default=None, help="results folder (default $COBRA_LAB_OUTPUTS, else <repo>/outputs)")
    sweep.add_argument("--csv", default=None, help="also write one row per run to this CSV file")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--yes", action="store_true", help="run a grid of more than 10000 runs (refused without it)")
    sweep.set_defaults(handler=_sweep)


def _report(args: argparse.Namespace) -> int:
    """Write the fairness audit of stored runs as one HTML file."""
    from .report import write_report  # deferred: torch and nbconvert take a while to import

    print(f"wrote {write_report(args.run_ids, args.out, args.results, args.baselines, not args.quiet)}")
    return 0


def add_report_commands(commands: argparse._SubParsersAction) -> None:
    """``cobra-lab report``: the fairness audit of stored runs, one self-contained HTML file."""
    report = commands.add_parser("report", help="write the fairness audit of stored runs as one HTML file")
    report.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="stored runs (cobra-lab run prints their ids)")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--results", default=None,
                        help="results folder holding the runs (default $COBRA_LAB_OUTPUTS, else <repo>/outputs)")
    report.add_argument("--baselines", action="store_true",
                        help="first compute the random and random_balanced runs at the same IPC when missing")
    report.add_argument("--quiet", action="store_true", help="no progress bars")
    report.set_defaults(handler=_report)


COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_data_commands, add_run_commands, add_sweep_commands, add_report_commands, add_reproduce_commands]


def build_parser() -> argparse.ArgumentParser:
    """The ``cobra-lab`` parser with every registered command group."""
    parser = OneLineParser(prog="cobra-lab", description="Fair dataset distillation lab.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_commands in COMMAND_GROUPS:
        add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (2 for a usage error or a UserError, 1 for a write the disk refused,
    130 when interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse printed help, or one line for a usage error
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a reader that went away is met here, not at the interpreter's exit
        return code
    except UserError as err:
        print(f"cobra-lab: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except StoreWriteFailed as err:
        print(f"cobra-lab: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of stdout stopped early (| head): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 0
    except OSError as err:  # a refused write outside a run: the --csv table, an image
        refused = write_failure(err)
        if refused is None:
            raise
        print(f"cobra-lab: error: {refused}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cobra-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
