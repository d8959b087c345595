"""Calibrating a profile's budget: EOD and accuracy against the distillation iterations, for each mode, beside the
paper's Table 1, and the smallest budget whose FairDD and COBRA cells land near the paper's.

Each mode is distilled once, to the largest budget of the ladder; the set after each smaller budget k is stored
as the distilled set of the k-iteration config (no method's schedule depends on the total: lr_img halves at
fixed iterations; so it is that run's set), and every budget is then evaluated as an ordinary run of
the store: a re-run reads everything back, an interrupted one goes on where it stopped."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure

from .. import paper
from ..config import resolve
from ..errors import UserError
from ..figure_style import MODE_COLOURS, styled
from ..runner import distilled_set, load_data, run_one
from ..schema import check_fits
from ..store import RunDir
from ..synset import SynSet, check_synset_state
from .figures import METRIC_LABELS

PAPER_TABLE = 1  # the main table: cfmnist_bg and the other benchmarks at IPC 10, 50, 100
EOD_FACTOR = 1.5  # a calibrated cell's EOD_max is at most this multiple of the paper's
ACC_MARGIN = 3.0  # ... and its accuracy at most this many points below the paper's
TIME_LIMIT_SECONDS = 600.0  # ... and one run (distill + evaluate) takes at most this long
JUDGED_MODES = ("fairdd", "cobra")  # vanilla's EOD is ~100 at any budget: it shows the bias, not the budget
COLUMNS = ["method", "mode", "budget", "eod_max", "eod_mean", "acc", "acc_std", "distill_seconds", "eval_seconds",
           "paper_eod_max", "paper_acc", "run_id"]


@dataclass(frozen=True)
class Ladder:
    """The runs of one calibration: a backbone on a benchmark at ``budgets`` iterations for each of ``modes``."""

    method: str
    budgets: tuple[int, ...]
    dataset: str = "cfmnist_bg"
    ipc: int = 10
    seed: int = 0
    profile: str = "cpu"
    modes: tuple[str, ...] = ("vanilla", "fairdd", "cobra")
    overrides: dict = field(default_factory=dict)  # dotted config keys, as ``--set`` takes them

    def __post_init__(self) -> None:
        if not self.budgets or any(int(k) < 1 for k in self.budgets):
            raise UserError(f"budgets must be positive iteration counts, got {list(self.budgets)}")
        if "distill.iterations" in self.overrides:
            raise UserError("distill.iterations is what the ladder varies: give it as budgets")
        object.__setattr__(self, "budgets", tuple(sorted({int(k) for k in self.budgets})))

    def config(self, mode: str, budget: int) -> dict:
        """The resolved config of ``mode`` at ``budget`` iterations."""
        return resolve(self.dataset, self.method, mode, self.ipc, profile=self.profile, seed=self.seed,
                       overrides={**self.overrides, "distill.iterations": budget})


def distill_ladder(ladder: Ladder, mode: str, root: str | None = None, progress: bool = True,
                   data_root: str | None = None) -> None:
    """Store the distilled set of ``mode`` at every budget of ``ladder`` that has none, from one distillation to
    the largest of them."""
    configs = {budget: ladder.config(mode, budget) for budget in ladder.budgets}
    missing = [budget for budget, config in configs.items() if not _has_set(RunDir(config, root))]
    if not missing:
        return
    longest = RunDir(configs[missing[-1]], root)
    data = load_data(longest.config, data_root)
    check_fits(longest.config, data)

    def store_snapshot(done: int, snapshot: Callable[[], SynSet]) -> None:
        if done in missing[:-1]:
            _store_set(RunDir(configs[done], root), snapshot(), data.num_classes, data.image_shape,
                       f"iteration {done} of {longest.path.name}")

    distilled_set(longest, data, progress, on_iteration=store_snapshot)


def _has_set(run: RunDir) -> bool:
    """Whether the run is finished or its distilled set is stored."""
    return run.synset_file.exists() or run.finished()


def _store_set(run: RunDir, synset: SynSet, num_classes: int, image_shape: tuple[int, ...], origin: str) -> None:
    """Store ``synset`` as ``run``'s distilled set (checked against its config) unless one is stored already."""
    state = synset.state()
    check_synset_state(state, run.run_config, num_classes, image_shape)
    with run.synset_lock():
        if run.stored_synset(lambda stored: check_synset_state(stored, run.run_config, num_classes, image_shape),
                             repair=True) is None:
            run.save_synset(state)
            run.log(f"distilled set stored from {origin}")


def calibrate(ladder: Ladder, root: str | None = None, progress: bool = True, data_root: str | None = None,
              on_row: Callable[[pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """One row per (mode, budget) of ``ladder`` (``COLUMNS``), mode by mode: each mode distilled once, then each
    budget evaluated; ``on_row`` gets the table so far after each row (to save partial results)."""
    rows = []
    for mode in ladder.modes:
        distill_ladder(ladder, mode, root, progress, data_root)
        reported = paper.cell(PAPER_TABLE, dataset=ladder.dataset, ipc=ladder.ipc, method=ladder.method, mode=mode)
        paper_eod, paper_acc = reported if reported is not None else (float("nan"), float("nan"))
        for budget in ladder.budgets:
            result = run_one(ladder.config(mode, budget), root, progress, data_root)
            rows.append({"method": ladder.method, "mode": mode, "budget": budget,
                         **{key: result[key] for key in COLUMNS[3:9]},
                         "paper_eod_max": paper_eod, "paper_acc": paper_acc, "run_id": result["run_id"]})
            if on_row is not None:
                on_row(pd.DataFrame(rows, columns=COLUMNS))
    return pd.DataFrame(rows, columns=COLUMNS)


def near_paper(table: pd.DataFrame, time_limit: float = TIME_LIMIT_SECONDS) -> pd.Series:
    """Per row: whether the cell lands near the paper's (EOD_max within ``EOD_FACTOR`` x, accuracy within
    ``ACC_MARGIN`` points below) in ``time_limit`` seconds; False where the paper reports no value."""
    return ((table["eod_max"] <= EOD_FACTOR * table["paper_eod_max"])
            & (table["acc"] >= table["paper_acc"] - ACC_MARGIN)
            & (table["distill_seconds"] + table["eval_seconds"] <= time_limit))


def smallest_budget(table: pd.DataFrame, modes: Sequence[str] = JUDGED_MODES,
                    time_limit: float = TIME_LIMIT_SECONDS) -> int | None:
    """The smallest budget at which every one of ``modes`` lands near the paper (``near_paper``); None if none."""
    judged = table[table["mode"].isin(modes)].assign(near=near_paper(table, time_limit))
    passing = judged.groupby("budget")["near"].agg(lambda near: bool(near.all()) and len(near) == len(modes))
    budgets = passing[passing].index
    return int(min(budgets)) if len(budgets) else None


@styled
def calibration_figure(table: pd.DataFrame) -> Figure:
    """Budget against EOD_max, EOD_mean and accuracy, a line per mode, the paper's Table 1 value dashed (EOD_max
    and accuracy; the paper reports no EOD_mean); one row of panels per backbone."""
    methods = list(dict.fromkeys(table["method"]))
    metrics = ("eod_max", "eod_mean", "acc")
    fig = Figure(figsize=(12.0, 3.4 * len(methods)), layout="constrained")
    axes = fig.subplots(len(methods), len(metrics), squeeze=False)
    for row, method in enumerate(methods):
        for mode, line in table[table["method"] == method].groupby("mode", sort=False):
            line = line.sort_values("budget")
            colour = MODE_COLOURS.get(mode, "gray")
            for column, metric in enumerate(metrics):
                axes[row][column].plot(line["budget"], line[metric], "-o", color=colour, label=mode)
                reported = {"eod_max": "paper_eod_max", "acc": "paper_acc"}.get(metric)
                if reported is not None and line[reported].notna().any():
                    axes[row][column].axhline(float(line[reported].iloc[0]), ls="--", color=colour, lw=1,
                                              label=f"{mode} (paper)")
        budgets = sorted(set(table.loc[table["method"] == method, "budget"]))
        for column, metric in enumerate(metrics):
            ax = axes[row][column]
            ax.set_xticks(budgets)
            ax.set_ylim(0, 102)
            ax.set_xlabel("distillation iterations")
            ax.set_ylabel(METRIC_LABELS.get(metric, metric))
            ax.set_title(f"{method.upper()}: {METRIC_LABELS.get(metric, metric)}", fontsize=10)
            ax.grid(alpha=0.3)
        axes[row][0].legend(fontsize=7)
    return fig
