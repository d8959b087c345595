"""MTT with per-group expert trajectories (paper Appendix M, Table 17): the runs, their table beside the paper's,
and the group gap along the expert trajectories that vanilla and COBRA match."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import paper
from ..config import resolve
from ..data.types import GroupedData
from ..evaluate import test_subset
from ..fairness import fairness_metrics
from ..figure_style import colour_of, styled
from ..methods import METHODS
from ..methods.mtt import barycentric
from ..nets import unflatten
from ..runner import load_data
from ..schema import typed
from ..store import default_root
from ..training import resolve_device
from ..trajectories import Experts
from .figures import BAND_ALPHA, METRIC_LABELS, line_handles
from .grids import STUDIES, base_grid
from .tables import cell_text, lowest, paper_text

TRAJECTORIES = {"vanilla": "vanilla: expert on the whole split", "cobra": "COBRA: mean of the group experts"}


@STUDIES.register("14_mtt")
def grid(profile: str, dataset: str, modes: list[str], ipc: int, seeds: list[int],
             runs: int | None = None) -> list[dict]:
    """Table 17: MTT under each mode (vanilla and COBRA; ``fairdd`` is our analogue, not the paper's)."""
    return [base_grid(profile, [dataset], ["mtt"], modes, ipc, seeds, runs)]


def mtt_table(agg: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, mode): our "EOD_max (Acc)" and EOD_mean, and Table 17's "EOD (Acc)" where the
    paper reports that dataset (its datasets are listed even where we ran nothing); bold: our lowest EOD_max
    and EOD_mean per dataset."""
    ours = {(row["dataset"], row["mode"]): row for _, row in agg.iterrows()}
    reported = {(row["dataset"], row["mode"]): paper.reported(17, dataset=row["dataset"], mode=row["mode"])
                for row in paper.rows(17)}
    keys = list(dict.fromkeys([*ours, *reported]))
    table = pd.DataFrame([{
        "EOD_max (Acc)": cell_text(ours[key]["eod_max"], ours[key]["acc"]) if key in ours else "",
        "EOD_mean": f"{ours[key]['eod_mean']:.2f}" if key in ours else "",
        "paper EOD (Acc)": paper_text(*reported[key]) if key in reported else ""} for key in keys],
        index=pd.MultiIndex.from_tuples(keys, names=["dataset", "mode"]))
    bold = pd.DataFrame(False, index=table.index, columns=table.columns)
    for dataset in dict.fromkeys(dataset for dataset, _ in ours):
        for metric, column in (("eod_max", "EOD_max (Acc)"), ("eod_mean", "EOD_mean")):
            values = {mode: row[metric] for (name, mode), row in ours.items() if name == dataset}
            if len(values) > 1:
                for mode in lowest(values):
                    bold.loc[(dataset, mode), column] = True
    return table, bold


@torch.no_grad()
def checkpoint_metrics(net: torch.nn.Module, theta: torch.Tensor, data: GroupedData, test_x: torch.Tensor,
                       test_y: torch.Tensor, test_a: torch.Tensor, batch: int = 1000) -> dict:
    """Accuracy and EOD (percent) on the test images of the net ``net`` with flat parameters theta [P]."""
    parameters = unflatten(net, theta.to(test_x.device))
    predictions = torch.cat([torch.func.functional_call(net, parameters, (test_x[start:start + batch],)).argmax(1)
                             for start in range(0, test_x.shape[0], batch)]).cpu()
    return fairness_metrics(predictions, test_y, test_a, data.num_classes, data.num_groups)


def expert_gap(profile: str, dataset: str, ipc: int, seed: int, max_test: int | None = 2000,
               root: str | Path | None = None, progress: bool = True) -> pd.DataFrame:
    """Test accuracy and EOD at every epoch of the trajectories vanilla and COBRA MTT match: each whole-split
    expert, and each index's mean of the group experts (at most ``max_test`` test images, balanced over cells).
    One row per (trajectory, expert, epoch); the experts are read from the store (trained first if missing)."""
    rows = []
    data = None
    for mode, name in TRAJECTORIES.items():
        stored = resolve(dataset, "mtt", mode, ipc, profile=profile, seed=seed)
        data = data or load_data(stored)
        config = typed(stored)
        device = resolve_device(config.device)
        method = METHODS.build(config.method, config, data.image_shape, data.num_classes)
        net = method.new_net(torch.Generator().manual_seed(0)).to(device).eval()
        test = test_subset(data.test, max_test, seed)
        test_x = test.x.to(device)
        per_index = Experts(config, root or default_root()).trajectories(
            data, mode, config.distill.experts, method.new_net, device, progress)
        for index, trajectory in enumerate(per_index):  # [sets, epochs + 1, P]
            for epoch, theta in enumerate(barycentric(trajectory)):
                metrics = checkpoint_metrics(net, theta, data, test_x, test.y, test.a)
                rows.append({"trajectory": name, "mode": mode, "expert": index, "epoch": epoch,
                             **{key: metrics[key] for key in ("acc", "eod_max", "eod_mean")}})
    return pd.DataFrame(rows)


@styled
def expert_gap_figure(frame: pd.DataFrame) -> Figure:
    """Accuracy and EOD_mean against the expert epoch: one line per trajectory (mean over experts, a band of
    their range)."""
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    palette = {name: colour_of("", mode) for name, mode in zip(frame["trajectory"], frame["mode"])}
    for ax, key in zip(axes, ("acc", "eod_mean")):
        sns.lineplot(frame, x="epoch", y=key, hue="trajectory", palette=palette, marker="o", markeredgecolor="none",
                     estimator="mean", errorbar=("pi", 100), err_kws={"alpha": BAND_ALPHA}, ax=ax,
                     legend=False)  # the band: from the lowest expert to the highest
        ax.set_xlabel("expert epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"test {METRIC_LABELS[key]}")
    axes[0].legend(handles=line_handles(palette), fontsize=8)
    return fig
