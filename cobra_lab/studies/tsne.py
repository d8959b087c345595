"""What a net learns from each distilled set (notebook 06, paper Figure 3): test-set features of a net trained on
it, a 2-D projection (t-SNE or UMAP), kNN purities by class and by group."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..data.types import GroupedData
from ..errors import check_choice, check_int
from ..evaluate import train_eval_net
from ..store import RunDir
from ..synset import SynSet, decoded
from .grids import STUDIES, base_grid

PROJECTIONS = ("tsne", "umap")


@STUDIES.register("06_tsne")
def grid(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Figure 3: one distilled set per mode, whose evaluation net is embedded."""
    return [base_grid(profile, [dataset], [method], modes, ipc, seed)]


@torch.no_grad()
def features(net: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Penultimate features [N, D] of images x [N, C, H, W]."""
    net.eval()
    return torch.cat([net.embed(x[start:start + batch]) for start in range(0, x.shape[0], batch)])


def knn_agreement(feats: np.ndarray, labels: np.ndarray, neighbours: int) -> np.ndarray:
    """Per point [N]: the fraction of its ``neighbours`` nearest neighbours (itself excluded) sharing its label."""
    from sklearn.neighbors import NearestNeighbors  # deferred: scikit-learn takes seconds to import

    index = NearestNeighbors(n_neighbors=neighbours + 1).fit(feats).kneighbors(feats, return_distance=False)
    return (labels[index[:, 1:]] == labels[:, None]).mean(1)


def knn_purity(feats: np.ndarray, labels: np.ndarray, neighbours: int) -> float:
    """Mean fraction of each point's ``neighbours`` nearest neighbours (itself excluded) sharing its label."""
    return float(knn_agreement(feats, labels, neighbours).mean())


def standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of ``values`` [N]."""
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def chance_purity(labels: np.ndarray) -> float:
    """The kNN purity of labels scattered at random: the sum of squared label frequencies."""
    freq = np.bincount(labels) / len(labels)
    return float((freq ** 2).sum())


def project(feats: np.ndarray, projection: str, seed: int) -> np.ndarray:
    """A 2-D projection [N, 2] of features [N, D] by t-SNE (scikit-learn) or UMAP (umap-learn)."""
    check_choice("projection", projection, PROJECTIONS)
    if projection == "umap":
        import umap  # optional: only when asked for

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(feats)
    from sklearn.manifold import TSNE  # deferred: scikit-learn takes seconds to import

    perplexity = min(30.0, max(2.0, (len(feats) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(feats)


def embed_run(run_dir: str, data: GroupedData, points: int, projection: str = "tsne", neighbours: int = 10,
              seed: int = 0) -> dict:
    """Train evaluation net 0 of a stored run on its distilled set, embed ``points`` test images (seeded choice).

    Returns {"xy": [N, 2], "y": [N], "a": [N], "class_purity", "group_purity", "group_chance"}, and each purity's
    standard error over the embedded points (``*_se``); purities are measured on the net's features, not on the
    projection.
    """
    check_int("points", points, neighbours + 2)
    run = RunDir.open(run_dir)
    config = run.run_config
    synset = decoded(SynSet.from_state(run.load_synset()), config, data.num_classes)
    net = train_eval_net(synset.x, synset.y, config, data.num_classes, run=0)
    rows = torch.randperm(len(data.test), generator=torch.Generator().manual_seed(seed))[:points]
    feats = features(net.cpu(), data.test.x[rows]).numpy()
    y, a = data.test.y[rows].numpy(), data.test.a[rows].numpy()
    by_class, by_group = knn_agreement(feats, y, neighbours), knn_agreement(feats, a, neighbours)  # [N] each
    return {"xy": project(feats, projection, seed), "y": y, "a": a,
            "class_purity": float(by_class.mean()), "class_purity_se": standard_error(by_class),
            "group_purity": float(by_group.mean()), "group_purity_se": standard_error(by_group),
            "group_chance": chance_purity(a)}


def purity_table(panels: dict[str, dict]) -> pd.DataFrame:
    """Per mode: the kNN class and group purities of its panel (each with its standard error over the points),
    and the group purity of chance."""
    return pd.DataFrame([{"mode": mode, "class_purity": p["class_purity"], "class_purity_se": p["class_purity_se"],
                          "group_purity": p["group_purity"], "group_purity_se": p["group_purity_se"],
                          "group_chance": p["group_chance"]} for mode, p in panels.items()])


def embedding_figure(panels: dict[str, dict], class_names: list[str], group_names: list[str]) -> Figure:
    """Two rows (coloured by class, by group) and one column per mode of 2-D embeddings; kNN purities in titles.

    Each panel: {"xy": [N, 2], "y": [N], "a": [N], "class_purity": float, "group_purity": float}.
    """
    fig = Figure(figsize=(3.6 * len(panels), 7.4), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for column, (mode, panel) in enumerate(panels.items()):
        for row, (key, names, purity) in enumerate((("y", class_names, "class_purity"),
                                                    ("a", group_names, "group_purity"))):
            ax = axes[row][column]
            labels = panel[key]
            ax.scatter(panel["xy"][:, 0], panel["xy"][:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=4,
                       linewidths=0)
            ax.set_xticks([])
            ax.set_yticks([])
            what = "class" if key == "y" else "group"
            ax.set_title(f"{mode}: by {what}\nkNN {what} purity {panel[purity]:.2f}", fontsize=9)
    return fig
