"""What the distiller is told about groups: the true train group, or a copy with label noise (rho)
and/or only a known fraction (eta) kept and the rest imputed by K-means. The true group is never changed.

Two imputations (``IMPUTATIONS``), both K-means over the whole train split, each cluster labelled by the majority
of its known members and that label given to its unknown ones:

- ``pixels_kmeans`` (the default): the paper's (its Appendix L), K-means on the flattened images. The paper
  states no number of clusters; we take K = G, one cluster per group, and one k-means++ start (scikit-learn's
  own default), as on thousands of dimensions each start costs as much as the pooled imputation's three.
- ``pooled_kmeans``: K-means on each channel average-pooled to 4x4 with K = 4G clusters, which recovers the
  colour groups of the benchmarks almost exactly (the background colour dominates pooled pixels).

With both noise and partial labels, noise is applied to the known labels first, and the imputation then votes with
the noisy ones (the distiller's annotator is noisy; K-means only propagates what it was told).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .seeding import generator

POOL = 4  # pooled_kmeans features: each channel average-pooled to 4x4 (48 numbers per colour image)
KMEANS_SEED = 0  # K-means' own seed (initial centres), fixed so the same labels give the same imputation


def flattened_pixels(x: torch.Tensor) -> torch.Tensor:
    """Each image's pixels scaled to [0, 1] and flattened, as K-means features."""
    return x.float().div(255).flatten(1)  # [N, C * H * W]


def pooled_features(x: torch.Tensor) -> torch.Tensor:
    """Each channel average-pooled to POOL x POOL and flattened, as K-means features."""
    return F.adaptive_avg_pool2d(x.float(), POOL).flatten(1)  # [N, C * 4 * 4]


@dataclass(frozen=True)
class Imputation:
    """How unknown groups are imputed: the K-means features of the uint8 images, the clusters per group and the
    K-means starts (the best of them is kept)."""

    features: Callable[[torch.Tensor], torch.Tensor]
    clusters_per_group: int
    starts: int


IMPUTATIONS = {"pixels_kmeans": Imputation(flattened_pixels, clusters_per_group=1, starts=1),
               "pooled_kmeans": Imputation(pooled_features, clusters_per_group=4, starts=3)}
DEFAULT_IMPUTATION = "pixels_kmeans"


def add_group_noise(a: torch.Tensor, num_groups: int, rho: float, gen: torch.Generator) -> torch.Tensor:
    """A copy of ``a`` with exactly round(rho * N) random entries replaced by a uniformly drawn wrong group."""
    chosen = torch.randperm(len(a), generator=gen)[:math.floor(rho * len(a) + 0.5)]
    shift = torch.randint(1, num_groups, (len(chosen),), generator=gen)  # never 0 (mod G): always wrong
    noisy = a.clone()
    noisy[chosen] = (a[chosen] + shift) % num_groups
    return noisy


def impute_groups(x: torch.Tensor, groups: torch.Tensor, known: torch.Tensor, num_groups: int,
                  imputation: str = DEFAULT_IMPUTATION) -> torch.Tensor:
    """``groups`` where ``known``; elsewhere the majority known group of the image's K-means cluster, clustered
    as ``imputation`` (a name of ``IMPUTATIONS``) says."""
    from sklearn.cluster import KMeans  # deferred: scikit-learn is slow to import

    chosen = IMPUTATIONS[imputation]
    k = chosen.clusters_per_group * num_groups
    kmeans = KMeans(n_clusters=k, n_init=chosen.starts, random_state=KMEANS_SEED)
    clusters = torch.from_numpy(kmeans.fit_predict(chosen.features(x).numpy())).long()  # [N]
    votes = torch.bincount(clusters[known] * num_groups + groups[known], minlength=k * num_groups)
    votes = votes.view(k, num_groups)  # [K, G]
    fallback = torch.bincount(groups[known], minlength=num_groups).argmax()  # most common known group
    cluster_group = torch.where(votes.sum(1) > 0, votes.argmax(1), fallback)  # [K]
    out = groups.clone()
    out[~known] = cluster_group[clusters[~known]]
    return out


def known_count(n: int, known_groups: float) -> int:
    """How many of ``n`` train group labels stay known at fraction ``known_groups`` (at least one)."""
    return max(1, math.floor(known_groups * n + 0.5))


def observe_groups(x: torch.Tensor, a: torch.Tensor, num_groups: int, group_noise: float, known_groups: float,
                   seed: int, imputation: str | None = DEFAULT_IMPUTATION) -> torch.Tensor:
    """The train groups the distiller sees: a seeded fraction ``known_groups`` kept (noisy at rate
    ``group_noise``), the rest imputed from the uint8 images ``x`` by ``imputation`` (None only where every label
    is kept); at least one label is always kept."""
    known = torch.zeros(len(a), dtype=torch.bool)  # [N]
    known[torch.randperm(len(a), generator=generator(seed, "known-groups"))[:known_count(len(a), known_groups)]] = True
    observed = a.clone()
    observed[known] = add_group_noise(a[known], num_groups, group_noise, generator(seed, "group-noise"))
    if known.all():
        return observed
    return impute_groups(x, observed, known, num_groups, imputation)
