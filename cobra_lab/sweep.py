"""Grids of runs: expand a grid into resolved configs, run each with ``run_one`` (skipping stored ones) in
worker processes or as tasks on a Ray cluster, and return one tidy row per run; a failed run is recorded and
the others go on, except when the disk refuses a write to the store: every later run would fail the same way,
so the sweep stops.

A grid is a dict (or a list of dicts, whose union is taken)::

    profile: quick             # one profile for the whole grid
    datasets: [cfmnist_bg]     # the one entry without a default
    methods: [dm]              # any of cobra_lab/methods/ (and full for the undistilled baseline)
    modes: [vanilla, cobra]
    ipc: [10]
    seeds: [0]
    runs: null                 # evaluation nets; null: the profile's
    preset: null
    data: {skew: [0.7, 0.9], gap: 0}       # each a value or a list; the product is taken
    set: {distill.iterations: [100, 300]}  # any resolved config key; the product is taken
    full: true                 # add the FULL baseline for every dataset, data setting and seed

An empty list anywhere is an error (it would run nothing), and a grid of more than MAX_RUNS runs is refused
before anything is resolved unless asked for (``max_runs=None``, ``cobra-lab sweep --yes``).
"""
from __future__ import annotations

import itertools
import os
import statistics
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, fields
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .config import FULL, get_dotted, resolve
from .errors import StoreWriteFailed, UserError, check_bool, check_choice, check_int
from .paths import check_writable
from .ray_backend import RayOptions, run_groups
from .runner import run_one
from .sections import DataConfig
from .store import RunDir, default_root, run_id, synset_id

# a grid's data: keys, the run config's data section but the content digest of a user's set (resolved, not chosen)
DATA_KEYS = tuple(key for key in DataConfig.keys() if key != "content")
MAX_RUNS = 10_000  # a larger grid is refused unless asked for (cobra-lab sweep --yes, run_grid(max_runs=None))
METRIC_KEYS = ("acc", "acc_std", "eod_mean", "eod_mean_std", "eod_max", "eod_max_std", "fpr_gap_mean",
               "fpr_gap_max", "runs", "distill_seconds", "eval_seconds", "seconds")
AGGREGATED = ("acc", "eod_mean", "eod_max")
BACKENDS = ("local", "ray")


def _as_list(value: object) -> list:
    """``value`` as a list (a scalar becomes a one-element list)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _product(options: dict) -> list[dict]:
    """Every combination of a dict of value-or-list entries, as a list of plain dicts."""
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*(_as_list(options[k]) for k in keys))]


@dataclass(frozen=True)
class GridPart:
    """One grid mapping with its defaults: the datasets must be named; every list entry is crossed."""

    datasets: list
    profile: str = "quick"
    methods: list = field(default_factory=lambda: ["dm"])
    modes: list = field(default_factory=lambda: ["vanilla"])
    ipc: list = field(default_factory=lambda: [10])
    seeds: list = field(default_factory=lambda: [0])
    runs: int | None = None
    preset: str | None = None
    data: dict = field(default_factory=dict)
    set: dict = field(default_factory=dict)
    full: bool = False

    @classmethod
    def parse(cls, part: object) -> "GridPart":
        """A grid mapping checked: known keys, datasets named, no empty list, known data keys."""
        if not isinstance(part, dict):
            raise UserError(f"a grid is a mapping of {', '.join(GRID_KEYS)}, got {part!r}")
        unknown = set(part) - set(GRID_KEYS)
        if unknown:
            raise UserError(f"unknown grid key {sorted(unknown)[0]!r}; known: {', '.join(sorted(GRID_KEYS))}")
        if part.get("datasets") is None:
            raise UserError("a grid must name its datasets (datasets: [cdigits_bg, ...])")
        values = {key: value for key, value in part.items() if value is not None or key in ("runs", "preset")}
        for key in ("data", "set"):
            if not isinstance(values.get(key, {}), dict):
                raise UserError(f"grid entry {key} must be a mapping of key: value or list, got {values[key]!r}")
        unknown = set(values.get("data", {})) - set(DATA_KEYS)
        if unknown:
            raise UserError(f"unknown data key {sorted(unknown)[0]!r}; known: {', '.join(DATA_KEYS)}")
        lists = {key: values[key] for key in ("datasets", "methods", "modes", "ipc", "seeds") if key in values}
        lists.update({f"{key}: {name}": value for key in ("data", "set")
                      for name, value in values.get(key, {}).items()})
        for key, value in lists.items():
            if isinstance(value, (list, tuple)) and not value:
                raise UserError(f"grid entry {key} is an empty list: nothing to run")
        check_bool("grid entry full", values.get("full", False))
        return cls(**values)

    def points(self) -> list[tuple]:
        """(dataset, seed, data, overrides, method, mode, ipc) of every run, before resolving (cheap to count)."""
        methods = _as_list(self.methods)
        distilled = [(method, mode, ipc) for method in methods if method != FULL
                     for mode in _as_list(self.modes) for ipc in _as_list(self.ipc)]
        baseline = [(FULL, None, None)] if self.full or FULL in methods else []
        return [(dataset, seed, data, overrides, *choice)
                for dataset, seed, data, overrides in itertools.product(
                    _as_list(self.datasets), _as_list(self.seeds), _product(self.data), _product(self.set))
                for choice in distilled + baseline]


GRID_KEYS = tuple(spec.name for spec in fields(GridPart))


def _grid_parts(grid: dict | list[dict]) -> list:
    """The mappings of a grid; an empty one is a UserError."""
    parts = _as_list(grid)
    if not parts:
        raise UserError("the grid is an empty list: nothing to run")
    return parts


def expand(grid: dict | list[dict], max_runs: int | None = MAX_RUNS, progress: bool = False) -> list[dict]:
    """The resolved configs of a grid (or of a list of grids), in order, without duplicates; more than
    ``max_runs`` (None: no limit) is a UserError, raised before any is resolved."""
    parts = [GridPart.parse(part) for part in _grid_parts(grid)]
    points = [(part, point) for part in parts for point in part.points()]
    if max_runs is not None and len(points) > max_runs:
        raise UserError(f"the grid holds {len(points)} runs, more than {max_runs}: split it, or pass --yes "
                        f"(max_runs=None) to run it all")
    configs: dict[str, dict] = {}
    for part, (dataset, seed, data, overrides, method, mode, ipc) in tqdm(
            points, desc="resolving", unit="run", delay=2, disable=not progress, leave=False):
        distilled = method != FULL
        config = resolve(dataset, method, mode, ipc, profile=part.profile, seed=seed,
                         runs=part.runs if distilled else None, preset=part.preset if distilled else None,
                         data=data, overrides=overrides if distilled else _eval_only(overrides))
        configs.setdefault(run_id(config), config)
    return list(configs.values())


def _eval_only(overrides: dict) -> dict:
    """The overrides that also apply to a FULL run (it has no distill section)."""
    return {key: value for key, value in overrides.items() if not key.startswith("distill.")}


def describe(config: dict) -> dict:
    """The columns that identify a run in a table: what was run, on which data, with which overrides."""
    mode = config["mode"] or (FULL if config["method"] == FULL else "")  # "": a selection baseline, no mode
    row = {"dataset": config["dataset"], "method": config["method"], "mode": mode,
           "ipc": config["ipc"], "seed": config["seed"], "profile": config["profile"], "preset": config["preset"]}
    row.update({key: config["data"][key] for key in DATA_KEYS})
    return row


def _run_one_of_grid(config: dict, root: str, progress: bool = False) -> dict:
    """One run of a grid in a worker: the metrics, or the error that stopped it; ``progress``: its bars."""
    try:
        return {**run_one(config, root, progress=progress), "status": "done", "error": None}
    except StoreWriteFailed as error:  # every later run would fail the same way: the sweep stops
        return {"status": "failed", "error": str(error), "store_refused": True}
    except Exception as error:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        return {"status": "failed", "error": f"{type(error).__name__}: {error}"}


def _run_group(group: list[tuple[int, dict]], root: str) -> list[tuple[int, dict]]:
    """Several runs of a grid, (index, config) each, in one worker one after another: (index, result) for each."""
    return [(index, _run_one_of_grid(config, root)) for index, config in group]


def _sharing_groups(configs: list[dict], indices: list[int]) -> list[list[tuple[int, dict]]]:
    """The runs grouped by distilled set: runs that differ only in evaluation go to one worker, so their
    shared set is distilled once (FULL runs distill nothing and stand alone)."""
    groups: dict[str, list[tuple[int, dict]]] = {}
    for index, config in zip(indices, configs):
        key = run_id(config) if config["method"] == FULL else synset_id(config)
        groups.setdefault(key, []).append((index, config))
    return list(groups.values())


def _init_worker(threads: int) -> None:
    """Share the CPU cores between worker processes."""
    import torch

    torch.set_num_threads(threads)


def knobs(grid: dict | list[dict]) -> list[str]:
    """The dotted config keys a grid varies or sets (its ``set`` entries), in order of appearance."""
    return list(dict.fromkeys(key for part in _as_list(grid) for key in (part.get("set") or {})))


def _row(config: dict, result: dict, knob_keys: list[str]) -> dict:
    """One tidy row: the run's identity (with the grid's knobs), then its metrics."""
    row = describe(config)
    row.update({key: get_dotted(config, key) for key in knob_keys})
    row.update({key: result.get(key) for key in METRIC_KEYS})
    row.update(status=result["status"], error=result["error"], cached=result.get("cached", False),
               run_dir=result.get("run_dir"), run_id=run_id(config))
    return row


def run_grid(grid: dict | list[dict], workers: int = 1, root: str | Path | None = None, progress: bool = True,
             max_runs: int | None = MAX_RUNS, backend: str = "local", address: str | None = None,
             cpus_per_run: float | None = None, gpus_per_run: float | None = None) -> pd.DataFrame:
    """Run the runs of ``grid`` (stored ones are read back), ``workers`` local processes at a time, or as Ray
    tasks on the cluster at ``address`` (``backend="ray"``, see ``RayOptions``); one row per run. A write the
    disk refuses stops the sweep with StoreWriteFailed, whose ``rows`` record the run it stopped and the runs
    left (status ``stopped``).

    Every config is checked before the first run starts; a grid of more than ``max_runs`` runs is refused."""
    workers = check_int("workers", workers, 1)
    ray_options = _ray_options(check_choice("backend", backend, BACKENDS), workers, address, cpus_per_run,
                               gpus_per_run)
    root = Path(root or default_root())
    configs = expand(grid, max_runs, progress)
    results: dict[int, dict] = {}
    todo = []
    for index, config in enumerate(configs):
        if RunDir(config, root).finished():
            results[index] = _run_one_of_grid(config, str(root))
        else:
            todo.append(index)
    if todo:
        check_writable(root, "results folder (--out, $COBRA_LAB_OUTPUTS)")
    if progress:
        print(f"sweep: {len(configs)} runs, {len(results)} from the store, {len(todo)} to compute "
              f"({'as Ray tasks' if ray_options else f'{workers} at a time'})", file=sys.stderr)
    bar = tqdm(total=len(configs), initial=len(results), desc="sweep", unit="run", disable=not progress)
    refused = None
    try:
        for index, result in _execute([configs[i] for i in todo], todo, workers, str(root), ray_options, progress):
            results[index] = result
            bar.set_postfix_str(f"{run_id(configs[index])[:48]}: {result['status']}")
            bar.update()
            if result.get("store_refused"):
                refused = result["error"]
                break
    finally:
        bar.close()
    for index in todo:
        results.setdefault(index, {"status": "stopped", "error": "not run: the sweep stopped at a refused write"})
    knob_keys = knobs(grid)
    table = pd.DataFrame([_row(config, results[index], knob_keys) for index, config in enumerate(configs)])
    table = table.astype({"ipc": "Int64"})
    if refused is not None:
        raise StoreWriteFailed(refused, rows=table)
    return table


def _ray_options(backend: str, workers: int, address: str | None, cpus_per_run: float | None,
                 gpus_per_run: float | None) -> RayOptions | None:
    """The checked Ray options for the ray backend, None for the local one (a UserError when they are mixed)."""
    if backend == "local":
        if (address, cpus_per_run, gpus_per_run) != (None, None, None):
            raise UserError("address, cpus_per_run and gpus_per_run are options of the ray backend "
                            "(backend='ray', --backend ray)")
        return None
    if workers != 1:
        raise UserError("workers sizes the local pool; on Ray the cluster's free CPUs and GPUs set how many runs go "
                        "at once (cpus_per_run, gpus_per_run)")
    return RayOptions.checked(address, cpus_per_run, gpus_per_run)


def _execute(configs: list[dict], indices: list[int], workers: int, root: str,
             ray_options: RayOptions | None = None, progress: bool = False) -> Iterable[tuple[int, dict]]:
    """Yield (index, result) as runs finish: as Ray tasks with ``ray_options``, else in this process for one
    worker (with each run's distillation and evaluation bars when ``progress``), else in a spawn pool."""
    if ray_options is not None and configs:
        yield from run_groups(_run_group, _sharing_groups(configs, indices), str(Path(root).absolute()), ray_options)
        return
    if workers == 1 or len(configs) <= 1:
        for index, config in zip(indices, configs):
            yield index, _run_one_of_grid(config, root, progress)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(threads,)) as pool:
        try:
            futures = [pool.submit(_run_group, group, root) for group in _sharing_groups(configs, indices)]
            for future in as_completed(futures):
                yield from future.result()
        finally:  # a sweep that stops early starts no more runs
            pool.shutdown(cancel_futures=True)


def aggregate(df: pd.DataFrame, keys: Iterable[str] = AGGREGATED) -> pd.DataFrame:
    """Mean +- std over seeds of each finished setting (one seed: the std over its evaluation nets)."""
    done = df[df["status"] == "done"]
    by = [column for column in df.columns
          if column not in {"seed", "status", "error", "cached", "run_dir", "run_id", *METRIC_KEYS}]
    rows = []
    for identity, group in done.groupby(by, dropna=False, sort=False):
        row = dict(zip(by, identity))
        row["seeds"] = len(group)
        for key in keys:
            values = group[key].astype(float).tolist()
            row[key] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else float(group[f"{key}_std"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "seeds", *itertools.chain.from_iterable((k, f"{k}_std") for k in keys)])
