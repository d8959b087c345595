"""One run, end to end: load data, distill (or take the full set), evaluate, store; cached by config."""
from __future__ import annotations

import time
from pathlib import Path

from .config import FULL
from .data import load
from .distill import SynSet, distill
from .evaluate import evaluate
from .store import RunDir


def load_data(config: dict):
    """The dataset a resolved config names, with its bias and group options."""
    options = config["data"]
    return load(config["dataset"], skew=options["skew"], gap=options["gap"], semantic_gap=options["semantic_gap"],
                group_noise=options["group_noise"], known_groups=options["known_groups"], seed=config["seed"])


def run_one(config: dict, root: str | Path | None = None, progress: bool = True) -> dict:
    """Metrics of the run ``config`` describes: read back when stored, else computed and stored.

    A pure function of ``config`` (and the data on disk); an interrupted run resumes from its checkpoint.
    """
    run = RunDir(config, root)
    if run.finished():
        return {**run.load_metrics(), **run.load_timing(), "cached": True, "run_dir": str(run.path)}
    began = time.time()
    run.start()
    data = load_data(config)
    if config["method"] == FULL:
        x, y, groups, distill_seconds = data.train.x, data.train.y, data.train.a_observed, 0.0
    else:
        if run.synset_file.exists():
            synset = SynSet.from_state(run.load_synset())
            run.log(f"distilled set read from the store ({run.synset_dir.name})")
        else:
            resuming = " (resuming from its checkpoint)" if run.checkpoint_file.exists() else ""
            run.log(f"distilling {config['method']}/{config['mode']} ipc {config['ipc']}{resuming}")
            synset = distill(data, config, checkpoint=run.checkpoint_file, progress=progress)
            run.save_synset(synset.state())
            run.log(f"distilled in {synset.seconds:.1f} s, final loss {synset.losses[-1]:.4g}")
        x, y, groups, distill_seconds = synset.x, synset.y, synset.init_group, synset.seconds
    metrics = evaluate(x, y, data.test, config, data.num_classes, data.num_groups, progress=progress, groups=groups)
    metrics["run_id"] = run.path.name
    timing = {"distill_seconds": distill_seconds, "eval_seconds": metrics.pop("eval_seconds"),
              "seconds": time.time() - began}
    run.save_timing(timing)
    run.save_metrics(metrics)
    run.log(f"acc {metrics['acc']:.2f} eod_mean {metrics['eod_mean']:.2f} eod_max {metrics['eod_max']:.2f}")
    return {**metrics, **timing, "cached": False, "run_dir": str(run.path)}
