"""Why COBRA works (notebook 08, paper Theorem 4.1, Table 5): a net trained on each stored distilled set gives the
real group statistics Phi[a|y]; each target's worst-case residual and the angle condition, the paper's Table 5."""
from __future__ import annotations

import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from .. import paper
from ..accel.gradients import batch_cell_gradients
from ..data.types import GroupedData
from ..diagnostics import group_means, residual_table
from ..evaluate import train_eval_net
from ..figure_style import MODE_COLOURS, styled
from ..sampling import cell_sample
from ..store import RunDir
from ..synset import SynSet, decoded
from .grids import STUDIES, base_grid

PAPER_COLUMNS = {"vanilla": "Vanilla", "fairdd": "FairDD", "cobra": "COBRA"}  # Table 5's printed column names


@STUDIES.register("08_residuals")
def grid(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Table 5: the distilled sets whose trained nets give the group statistics."""
    return [base_grid(profile, [dataset], methods, modes, ipc, seed)]


def real_statistics(net: nn.Module, data: GroupedData, method: str, per_cell: int = 256, seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Phi[a|y] on the real train set for a trained net: DM mean embeddings or DC cross-entropy gradients of the
    matched weights, from up to ``per_cell`` images per (class, group) cell ([C, G, D]); and the full train
    counts [C, G] (the vanilla mixture's weights)."""
    train, classes, groups = data.train, data.num_classes, data.num_groups
    rows = cell_sample(train.y, train.a, groups, per_cell, seed)
    x, y, a = train.x[rows], train.y[rows], train.a[rows]
    net.eval()
    if method == "dm":
        with torch.no_grad():
            feats = torch.cat([net.embed(x[s:s + 500]) for s in range(0, len(x), 500)])  # [n, D]
        phi, _ = group_means(feats, y, a, classes, groups)
    else:
        cell = y * groups + a  # [n]
        sizes = torch.bincount(cell, minlength=classes * groups).clamp_min(1)  # [C * G]
        phi = sum(batch_cell_gradients(net, x[s:s + 500], cell[s:s + 500], sizes, y[s:s + 500], create_graph=False)
                  for s in range(0, len(x), 500)).view(classes, groups, -1)
    return phi.detach(), train.counts(classes, groups)


def run_residuals(run_dir: str, data: GroupedData, per_cell: int = 256) -> pd.DataFrame:
    """Residual table of a stored run: evaluation net 0 trained on its distilled set gives Phi[a|y] on real data."""
    run = RunDir.open(run_dir)
    config = run.run_config
    synset = decoded(SynSet.from_state(run.load_synset()), config, data.num_classes)
    net = train_eval_net(synset.x, synset.y, config, data.num_classes, run=0).cpu()
    phi, counts = real_statistics(net, data, config.method, per_cell, config.seed)
    return residual_table(phi, counts, data.class_names)


def residual_summary(tables: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """One row per distilled set (method, mode): each target's worst-case residual as the mean over classes and
    the worst class, and the share of classes where the angle condition holds and where COBRA's is smaller."""
    rows = []
    for (method, mode), table in tables.items():
        rows.append({"method": method, "distilled_set": mode,
                     "vanilla_target_mean": table["maxres_vanilla"].mean(),
                     "vanilla_target_worst": table["maxres_vanilla"].max(),
                     "cobra_target_mean": table["maxres_cobra"].mean(),
                     "cobra_target_worst": table["maxres_cobra"].max(),
                     "condition_holds": table["condition_holds"].mean(),
                     "cobra_below_vanilla": table["cobra_below_vanilla"].mean()})
    return pd.DataFrame(rows)


def paper_table5(methods: list[str] | None = None) -> pd.DataFrame:
    """The paper's Table 5 as printed, for display: objective, dataset, row, then "mean (worst)" per column;
    only ``methods`` (None: all)."""
    cells: dict[tuple, dict] = {}
    for row in paper.rows(5):
        if methods is None or row["method"] in methods:
            key = (row["method"], row["dataset"], row["row"])
            cells.setdefault(key, {})[PAPER_COLUMNS[row["mode"]]] = f"{row['mean']:.3f} ({row['worst']:.3f})"
    return pd.DataFrame([{"objective": method, "dataset": dataset, "row": k, **columns}
                         for (method, dataset, k), columns in cells.items()])


@styled
def residual_figure(tables: dict[tuple[str, str], pd.DataFrame]) -> Figure:
    """Per distilled set, each class's worst-case residual of the vanilla target and of COBRA's barycenter."""
    fig = Figure(figsize=(4.2 * len(tables), 3.8), layout="constrained")
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    for ax, ((method, mode), table) in zip(axes, tables.items()):
        x = torch.arange(len(table)).float()
        for offset, target in ((-0.2, "vanilla"), (0.2, "cobra")):
            ax.bar(x + offset, table[f"maxres_{target}"], width=0.4, color=MODE_COLOURS[target],
                   label=f"{target} target")
        ax.set_xticks(x.tolist(), table["class"], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{method.upper()} {mode} set", fontsize=10)
        ax.set_ylabel("max_a ||Φ_a − m||²")
    axes[0].legend(fontsize=8)
    return fig
