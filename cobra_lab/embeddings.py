"""Test-set embeddings of a net trained on a distilled set: features, a 2-D projection, and kNN purities."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from .data.types import GroupedData
from .distill import SynSet, decoded
from .errors import check_choice, check_int
from .evaluate import train_eval_net
from .store import RunDir

PROJECTIONS = ("tsne", "umap")


@torch.no_grad()
def features(net: torch.nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Penultimate features [N, D] of images x [N, C, H, W]."""
    net.eval()
    return torch.cat([net.embed(x[start:start + batch]) for start in range(0, x.shape[0], batch)])


def knn_purity(feats: np.ndarray, labels: np.ndarray, neighbours: int) -> float:
    """Mean fraction of each point's ``neighbours`` nearest neighbours (itself excluded) sharing its label."""
    index = NearestNeighbors(n_neighbors=neighbours + 1).fit(feats).kneighbors(feats, return_distance=False)
    return float((labels[index[:, 1:]] == labels[:, None]).mean())


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
    perplexity = min(30.0, max(2.0, (len(feats) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(feats)


def embed_run(run_dir: str, data: GroupedData, points: int, projection: str = "tsne", neighbours: int = 10,
              seed: int = 0) -> dict:
    """Train evaluation net 0 of a stored run on its distilled set, embed ``points`` test images (seeded choice).

    Returns {"xy": [N, 2], "y": [N], "a": [N], "class_purity", "group_purity", "group_chance"}; purities are
    measured on the net's features, not on the projection.
    """
    check_int("points", points, neighbours + 2)
    run = RunDir.open(run_dir)
    synset = decoded(SynSet.from_state(run.load_synset()), run.config, data.num_classes)
    net = train_eval_net(synset.x, synset.y, run.config, data.num_classes, run=0)
    rows = torch.randperm(len(data.test), generator=torch.Generator().manual_seed(seed))[:points]
    feats = features(net.cpu(), data.test.x[rows]).numpy()
    y, a = data.test.y[rows].numpy(), data.test.a[rows].numpy()
    return {"xy": project(feats, projection, seed), "y": y, "a": a,
            "class_purity": knn_purity(feats, y, neighbours), "group_purity": knn_purity(feats, a, neighbours),
            "group_chance": chance_purity(a)}
