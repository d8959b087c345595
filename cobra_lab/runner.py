"""One run, end to end: load data, distill (or take the full set), evaluate, store; cached by config."""
from __future__ import annotations

import time
from pathlib import Path

from .accel.cores import sharing_cores, take_share
from .accel.memory import keep_freed_memory
from .config import FULL
from .data import load
from .data.types import GroupedData
from .errors import StoreWriteFailed, UserError
from .evaluate import evaluate
from .integrity import DamagedFile, parse_torch, read_checked
from .io import write_failure
from .loops import IterationHook, distill
from .paths import check_writable
from .schema import check_fits
from .store import RunDir
from .synset import SynSet, check_synset_state, decoded


def load_data(config: dict, data_root: str | Path | None = None):
    """The dataset a resolved config names, with its bias and group options, from ``data_root`` (None: the
    default data folder)."""
    return load(config["dataset"], **config["data"], seed=config["seed"], root=data_root)


def run_one(config: dict, root: str | Path | None = None, progress: bool = True,
            data_root: str | Path | None = None) -> dict:
    """Metrics of the run ``config`` describes: read back when stored intact, else computed and stored.

    A pure function of ``config`` (and the data on disk); an interrupted run resumes from its checkpoint, a
    damaged stored file is reported, moved aside and recomputed, and a run (or distilled set) another process
    is computing is waited for and read back, never computed twice.
    """
    keep_freed_memory()
    run = RunDir(config, root)
    stored = run.stored_result()
    if stored is not None:
        return stored
    check_writable(run.path.parent.parent, "results folder (--out, $COBRA_LAB_OUTPUTS)")
    data = load_data(config, data_root)
    check_fits(config, data)  # nothing is stored before the run can start
    with run.lock():
        stored = run.stored_result(repair=True)  # finished by another process meanwhile, or damaged files moved
        if stored is not None:
            return stored
        began = time.time()
        stored_set = run.synset_file.exists()
        try:
            run.start()
            with sharing_cores():
                return _compute(run, data, began, progress)
        except UserError:  # a run stopped by a bad value leaves nothing behind
            run.discard(synset=not stored_set)
            raise
        except OSError as error:
            refused = write_failure(error)
            if refused is None:
                raise
            run.discard_unfinished()  # the checkpoint and a stored distilled set stay: a rerun goes on from them
            raise StoreWriteFailed(f"{refused}; {_kept(run)}") from None


def _compute(run: RunDir, data: GroupedData, began: float, progress: bool) -> dict:
    """Distill (or take the full set), evaluate and store the started run ``run``, under its lock."""
    config = run.run_config
    if config.method == FULL:
        x, y, groups, distill_seconds = data.train.x, data.train.y, data.train.a_observed, 0.0
    else:
        synset = decoded(distilled_set(run, data, progress), config, data.num_classes)
        x, y, groups, distill_seconds = synset.x, synset.y, synset.init_group, synset.seconds
    take_share()  # runs started meanwhile get their share of the cores for the evaluation
    metrics = evaluate(x, y, data.test, config, data.num_classes, data.num_groups, progress=progress, groups=groups)
    metrics["run_id"] = run.path.name
    timing = {"distill_seconds": distill_seconds, "eval_seconds": metrics.pop("eval_seconds"),
              "eval_nets_stacked": metrics.pop("eval_nets_stacked"), "seconds": time.time() - began}
    run.save_predictions(metrics.pop("predictions"))
    run.save_timing(timing)
    run.save_metrics(metrics)
    run.log(f"acc {metrics['acc']:.2f} eod_mean {metrics['eod_mean']:.2f} eod_max {metrics['eod_max']:.2f}")
    return {**metrics, **timing, "cached": False, "run_dir": str(run.path)}


def _kept(run: RunDir) -> str:
    """What a rerun of ``run`` goes on from after a refused write: its stored distilled set, its checkpoint, or
    nothing."""
    if run.synset_file.exists():
        return "the distilled set is kept: a rerun only evaluates it"
    try:
        checkpoint = read_checked(run.checkpoint_file, parse_torch)
    except DamagedFile:
        checkpoint = None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("iteration"), int):
        return f"the run resumes from iteration {checkpoint['iteration']} when rerun"
    return "nothing of the run was kept: a rerun starts it afresh"


def distilled_set(run: RunDir, data: GroupedData, progress: bool, on_iteration: IterationHook | None = None) -> SynSet:
    """The run's distilled set: read back when stored intact and matching the config, else distilled under
    the set's lock (waiting for another process distilling it) and stored; ``on_iteration`` is the distill
    loop's hook (see ``loops.distill``)."""
    config = run.run_config

    def check(state: dict) -> None:
        check_synset_state(state, config, data.num_classes, data.image_shape)

    state = run.stored_synset(check)
    if state is None:
        with run.synset_lock():
            state = run.stored_synset(check, repair=True)
            if state is None:
                run.log(f"distilling {config.method}/{config.mode} ipc {config.ipc}")
                synset = distill(data, config, run.root, run.checkpoint_file, progress, run.log, on_iteration)
                run.save_synset(synset.state())
                loss = f", final loss {synset.losses[-1]:.4g}" if synset.losses else ""  # a selection has none
                run.log(f"distilled in {synset.seconds:.1f} s{loss}")
                return synset
    run.log(f"distilled set read from the store ({run.synset_dir.name})")
    return SynSet.from_state(state)
