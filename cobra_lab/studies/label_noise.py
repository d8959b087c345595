"""Noisy group labels (notebook 04, paper Table 15): a fraction rho of the distiller's group labels is wrong; and
how much such labels dilute the observed (class, group) cells COBRA averages."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure

from .. import nets, paper
from ..bench.results import write_results
from ..data import load
from ..diagnostics import group_means, targets
from ..figure_style import styled
from ..store import RunDir
from ..synset import SynSet, decoded
from .grids import STUDIES, base_grid
from .tables import results_table

ROWS = ["dataset", "group_noise"]


@STUDIES.register("04_label_noise")
def grid(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int], rhos: list[float],
         clean_modes: list[str], noisy_modes: list[str], runs: int | None = None) -> list[dict]:
    """Table 15: clean-label baselines, then the fair modes with a fraction rho of group labels wrong."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"group_noise": 0.0}},
            {**base_grid(profile, datasets, methods, noisy_modes, ipc, seeds, runs), "data": {"group_noise": rhos}}]


def table(agg: pd.DataFrame, ipc: int, metric: str = "eod_max") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (dataset, rho); the paper's Table 15 beside ours where it reports the dataset at ``ipc``."""
    return results_table(agg, rows=ROWS, paper=paper.lookup(15, ROWS, metric=metric, ipc=ipc), metric=metric)


# --- Why noisy group labels hurt COBRA: how far each observed (class, group) cell is from the true one ---

EMBED_WIDTH = 32  # the random ConvNet that embeds the images for the dilution measurement
EMBED_CHUNK = 2048  # images per embedding pass
NEAR = 0.05  # positions closer than this on the clean-COBRA-to-vanilla line read as the same place


def expected_purity(skew: float, num_groups: int, rho: float) -> tuple[float, float]:
    """The share of an observed minority and majority cell whose true group is the observed one, in expectation,
    when a class holds ``skew`` in its majority group, the rest spread evenly over the other groups, and a
    fraction ``rho`` of images moves to a uniformly drawn wrong group."""
    minority = (1 - skew) / (num_groups - 1)  # true share of each minority group
    kept_minority, kept_majority = minority * (1 - rho), skew * (1 - rho)
    # a minority cell receives rho / (G - 1) of the majority and of each of the G - 2 other minority groups
    arriving = rho / (num_groups - 1) * (skew + (num_groups - 2) * minority)
    return kept_minority / (kept_minority + arriving), kept_majority / (kept_majority + rho * minority)


def _relative_shift(noisy: torch.Tensor, clean: torch.Tensor, toward: torch.Tensor) -> torch.Tensor:
    """How far ``noisy`` moved from ``clean`` along the way to ``toward`` (rows [..., D]): the projection of
    noisy - clean on toward - clean over the squared length of the latter; 0: not at all, 1: all the way."""
    way = toward - clean
    return ((noisy - clean) * way).sum(-1) / way.pow(2).sum(-1).clamp_min(1e-12)


def dilution(feats: torch.Tensor, y: torch.Tensor, a: torch.Tensor, observed: torch.Tensor, majority: torch.Tensor,
             num_classes: int, num_groups: int) -> dict[str, float]:
    """How noisy group labels ``observed`` (true ``a``) dilute the cells of features feats [N, D]:

    - ``minority_purity`` / ``majority_purity``: mean over observed minority / majority (class, group) cells of the
      share of images whose true group is the observed one;
    - ``majority_in_minority``: mean share of a class's majority-group images in its observed minority cells;
    - ``cell_shift``: mean over minority cells of how far the observed cell mean moved from the true one toward
      the class's majority-group mean (0: not at all, 1: all the way);
    - ``target_shift``: mean over classes of how far COBRA's target (the uniform mean of the observed cells)
      moved from the clean one toward vanilla's (the class mean): 0 clean COBRA, 1 vanilla;
    - ``target_majority_weight``: mean over classes of the weight COBRA's target puts on majority-group images
      (1 / G clean; a vanilla target puts the class's majority share, its skew, there)."""
    true_means, true_counts = group_means(feats, y, a, num_classes, num_groups)  # [C, G, D], [C, G]
    seen_means, seen_counts = group_means(feats, y, observed, num_classes, num_groups)
    kept, _ = group_means((observed == a).to(feats.dtype).unsqueeze(1), y, observed, num_classes, num_groups)
    from_majority, _ = group_means((a == majority[y]).to(feats.dtype).unsqueeze(1), y, observed, num_classes,
                                   num_groups)  # [C, G, 1]
    is_majority = torch.zeros(num_classes, num_groups, dtype=torch.bool)
    is_majority[torch.arange(num_classes), majority] = True  # [C, G]
    minority = ~is_majority & (seen_counts > 0) & (true_counts > 0)
    majority_means = true_means[torch.arange(num_classes), majority]  # [C, D]
    shift = _relative_shift(seen_means, true_means, majority_means.unsqueeze(1).expand_as(true_means))  # [C, G]
    clean, noisy = targets(true_means, true_counts), targets(seen_means, seen_counts)
    return {"minority_purity": float(kept[..., 0][minority].mean()),
            "majority_purity": float(kept[..., 0][is_majority].mean()),
            "majority_in_minority": float(from_majority[..., 0][minority].mean()),
            "cell_shift": float(shift[minority].mean()),
            "target_shift": float(_relative_shift(noisy["cobra"], clean["cobra"], clean["vanilla"]).mean()),
            "target_majority_weight": float(targets(from_majority, seen_counts)["cobra"].mean())}


@torch.no_grad()
def random_embedding(x: torch.Tensor, num_classes: int, seed: int) -> torch.Tensor:
    """Features [N, D] of images x [N, C, H, W] under a seeded random ConvNet (DM's statistic, one net)."""
    net = nets.build("convnet", x.shape[1], num_classes, x.shape[-1], torch.Generator().manual_seed(seed),
                     width=EMBED_WIDTH).eval()
    return torch.cat([net.embed(x[start:start + EMBED_CHUNK]) for start in range(0, len(x), EMBED_CHUNK)])


def dilution_table(datasets: list[str], rhos: list[float], seed: int = 0, images: int | None = None
                   ) -> pd.DataFrame:
    """``dilution`` of each dataset's train cells at each noise rate rho (the labels the runs see), in pixels and
    in a random ConvNet's features, beside ``expected_purity`` at the set's measured majority share (a class's
    majority group: its most common one); ``images`` keeps a seeded random subset of each train split (None:
    all of it)."""
    return pd.concat([_dilution_rows(dataset, rhos, seed, images) for dataset in datasets], ignore_index=True)


def _dilution_rows(dataset: str, rhos: list[float], seed: int, images: int | None) -> pd.DataFrame:
    """``dilution_table`` for one dataset."""
    clean = load(dataset, seed=seed)
    train, classes, groups = clean.train, clean.num_classes, len(clean.group_names)
    kept = torch.randperm(len(train.y), generator=torch.Generator().manual_seed(seed))[:images] \
        if images else torch.arange(len(train.y))  # [n]
    x, y, a = train.x[kept], train.y[kept], train.a[kept]
    majority = train.counts(classes, groups).argmax(1)  # [C]
    skew = float((a == majority[y]).float().mean())
    spaces = {"pixels": x.flatten(1), "embedding": random_embedding(x, classes, seed)}  # [n, D] each
    rows = []
    for rho in rhos:
        observed = load(dataset, group_noise=rho, seed=seed).train.a_observed[kept] if rho else a  # [n]
        row = {"dataset": dataset, "rho": rho, "groups": groups, "majority_share": skew,
               "minority_purity_expected": expected_purity(skew, groups, rho)[0]}
        for space, feats in spaces.items():
            measured = dilution(feats, y, a, observed, majority, classes, groups)
            row.update({"minority_purity": measured["minority_purity"],
                        "majority_purity": measured["majority_purity"],
                        "majority_in_minority": measured["majority_in_minority"],
                        "target_majority_weight": measured["target_majority_weight"],
                        f"cell_shift_{space}": measured["cell_shift"],
                        f"target_shift_{space}": measured["target_shift"]})
        rows.append(row)
    return pd.DataFrame(rows)


@styled
def dilution_figure(table: pd.DataFrame) -> Figure:
    """Left: measured and expected purity of the observed minority cells against rho; right: how far the cell
    means and COBRA's target moved toward the majority / vanilla, in pixels and in the embedding."""
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    several = table["dataset"].nunique() > 1
    for n, (dataset, rows) in enumerate(table.groupby("dataset", sort=False)):
        name = f"{dataset}: " if several else ""
        alpha = max(0.3, 1.0 - 0.3 * n)  # later datasets paler
        left.plot(rows["rho"], rows["minority_purity"], "o-", color="tab:blue", alpha=alpha,
                  label=f"{name}own group (measured)")
        left.plot(rows["rho"], rows["minority_purity_expected"], "k--", alpha=alpha,
                  label=f"{name}own group (expected)")
        left.plot(rows["rho"], rows["majority_in_minority"], "s-", color="tab:red", alpha=alpha,
                  label=f"{name}class's majority group")
        for space, style in (("pixels", "-"), ("embedding", ":")):
            right.plot(rows["rho"], rows[f"cell_shift_{space}"], "o" + style, color="tab:orange", alpha=alpha,
                       label=f"{name}minority cell mean -> majority's ({space})")
            right.plot(rows["rho"], rows[f"target_shift_{space}"], "s" + style, color="tab:blue", alpha=alpha,
                       label=f"{name}COBRA target -> vanilla's ({space})")
    left.set(xlabel="rho (wrong group labels)", ylabel="share of an observed minority cell", ylim=(0, 1.02),
             title="What an observed minority cell holds")
    left.legend(fontsize=7)
    right.set(xlabel="rho (wrong group labels)", ylabel="share of the way moved", ylim=(0, 1.02),
              title="Where the noisy statistics move")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


def dilution_sentence(table: pd.DataFrame) -> str:
    """One sentence per dataset reading ``dilution_table`` at its smallest nonzero rho and its largest."""
    return " ".join(f"{dataset}: {_dilution_reading(rows)}" for dataset, rows in table.groupby("dataset", sort=False))


def _dilution_reading(table: pd.DataFrame) -> str:
    """``dilution_sentence`` for one dataset."""
    noisy = table[table["rho"] > 0]
    if noisy.empty:
        return "no noisy setting measured."
    parts = []
    for _, row in noisy.iloc[[0, -1]].drop_duplicates("rho").iterrows():
        parts.append(f"at rho {row['rho']:g} an observed minority cell is {100 * row['minority_purity']:.0f} % its "
                     f"own group (expected {100 * row['minority_purity_expected']:.0f} %) and "
                     f"{100 * row['majority_in_minority']:.0f} % majority images, its mean moves "
                     f"{100 * row['cell_shift_embedding']:.0f} % of the way to the majority's, and COBRA's target "
                     f"{100 * row['target_shift_embedding']:.0f} % of the way to vanilla's (pixels: "
                     f"{100 * row['target_shift_pixels']:.0f} %), weighing the majority group "
                     f"{100 * row['target_majority_weight']:.0f} % instead of {100 / row['groups']:.0f} %")
    return (f"With {100 * table['majority_share'].iloc[0]:.0f} % of each class in its majority group, "
            + "; ".join(parts) + " (random ConvNet features).")


def line_position(feats: torch.Tensor, y: torch.Tensor, num_classes: int, start: torch.Tensor,
                  end: torch.Tensor) -> float:
    """Where the class means of feats [N, D] (labels y [N]) sit on the line from ``start`` (0) to ``end`` (1),
    both [C, D]: the projection, averaged over the classes."""
    means, _ = group_means(feats, y, torch.zeros_like(y), num_classes, 1)  # [C, 1, D]
    return float(_relative_shift(means[:, 0], start, end).mean())


def synthetic_positions(results: pd.DataFrame, seed: int = 0, images: int | None = None) -> pd.DataFrame:
    """For each finished run of ``results``: where its target, its starting (real) images and its distilled set
    sit on the line from clean COBRA's target (0) to vanilla's (1), in pixels and in ``random_embedding``'s
    features of the train split (``images``: a seeded random subset, None: all). Vanilla's target is 1 by
    definition; the other modes' (COBRA's, and FairDD's pull: the plain mean of the observed cells) move with
    the noise."""
    rows = []
    done = results[results["status"] == "done"]
    for dataset, runs in done.groupby("dataset", sort=False):
        data = load(dataset, seed=seed)
        train, classes, groups = data.train, data.num_classes, len(data.group_names)
        kept = torch.randperm(len(train.y), generator=torch.Generator().manual_seed(seed))[:images] \
            if images else torch.arange(len(train.y))  # [n]
        y, a = train.y[kept], train.a[kept]
        spaces = {"pixels": lambda x: x.flatten(1), "embedding": lambda x: random_embedding(x, classes, seed)}
        feats = {space: embed(train.x[kept]) for space, embed in spaces.items()}  # [n, D] each
        clean = {space: targets(*group_means(f, y, a, classes, groups)) for space, f in feats.items()}
        for _, run in runs.iterrows():
            stored = RunDir.open(run["run_dir"])
            synset = decoded(SynSet.from_state(stored.load_synset()), stored.run_config, classes)
            rho = float(run["group_noise"])
            observed = load(dataset, group_noise=rho, seed=seed).train.a_observed[kept] if rho else a  # [n]
            row = {"dataset": dataset, "method": run["method"], "mode": run["mode"], "group_noise": rho}
            for space, embed in spaces.items():
                line = (clean[space]["cobra"], clean[space]["vanilla"])  # [C, D] each: positions 0 and 1
                noisy = targets(*group_means(feats[space], y, observed, classes, groups))["cobra"]
                row[f"target_{space}"] = 1.0 if run["mode"] == "vanilla" else \
                    float(_relative_shift(noisy, *line).mean())
                row[f"start_{space}"] = line_position(embed(train.x[synset.init_index]), synset.y, classes, *line)
                row[f"distilled_{space}"] = line_position(embed(synset.x), synset.y, classes, *line)
            rows.append(row)
    return pd.DataFrame(rows)


@styled
def positions_figure(positions: pd.DataFrame) -> Figure:
    """``synthetic_positions`` in the random ConvNet's features against rho: each COBRA run's target, starting
    images and distilled set, and where the clean vanilla run ended (0: clean COBRA's target, 1: vanilla's)."""
    fig = Figure(figsize=(5.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for n, (dataset, rows) in enumerate(positions.groupby("dataset", sort=False)):
        name = f"{dataset}: " if positions["dataset"].nunique() > 1 else ""
        cobra = rows[rows["mode"] == "cobra"].sort_values("group_noise")
        for column, style, label in (("target_embedding", "k--", "COBRA's target"),
                                     ("start_embedding", "s:", "starting images"),
                                     ("distilled_embedding", "o-", "COBRA's distilled set")):
            ax.plot(cobra["group_noise"], cobra[column], style, alpha=max(0.3, 1.0 - 0.3 * n), label=name + label)
        for _, run in rows[rows["mode"] == "vanilla"].iterrows():
            ax.axhline(run["distilled_embedding"], color="tab:red", alpha=0.6, label=name + "vanilla's distilled set")
    ax.set(xlabel="rho (wrong group labels)", ylabel="position: 0 clean COBRA target, 1 vanilla's",
           title="Where the distilled sets end")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def positions_sentence(positions: pd.DataFrame) -> str:
    """One sentence reading ``synthetic_positions`` for the COBRA runs (random ConvNet features): where each
    target is, and how much of the way from its starting images to its target the distilled set went."""
    cobra = positions[positions["mode"] == "cobra"].sort_values(["dataset", "group_noise"])
    if cobra.empty:
        return "No finished COBRA run to place."
    parts = []
    for _, run in cobra.iterrows():
        start, target, end = run["start_embedding"], run["target_embedding"], run["distilled_embedding"]
        way = (f"its start at {start:.2f} is already near its target" if abs(start - target) < NEAR else
               f"{100 * (start - end) / (start - target):.0f} % of the way from its start at {start:.2f}")
        parts.append(f"{run['dataset']} rho {run['group_noise']:g}: target {target:.2f}, distilled set {end:.2f} "
                     f"({way})")
    return "On the line from clean COBRA's target (0) to vanilla's (1): " + "; ".join(parts) + "."


RUN_COLUMNS = ["dataset", "method", "mode", "ipc", "seed", "profile", "group_noise", "acc", "acc_std", "eod_max",
               "eod_max_std", "eod_mean", "eod_mean_std", "runs", "distill_seconds", "eval_seconds", "run_id"]


def save_results(path: str | Path, results: pd.DataFrame, dilution: pd.DataFrame, positions: pd.DataFrame) -> Path:
    """The study's measurements as a results file (JSON, with when and where): each finished run's setting and
    metrics, ``dilution_table`` and ``synthetic_positions``."""
    def records(frame: pd.DataFrame) -> list[dict]:
        return json.loads(frame.to_json(orient="records", double_precision=15))  # its most digits

    done = results[results["status"] == "done"]
    return write_results(path, "04_label_noise", {"runs": records(done[RUN_COLUMNS]), "dilution": records(dilution),
                                                  "positions": records(positions)})
