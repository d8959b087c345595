"""What the distiller is told about groups: the true train group, or a copy with label noise (rho)
and/or only a known fraction (eta) kept and the rest imputed by K-means. The true group is never changed.

With both, noise is applied to the known labels first, and the imputation then votes with the noisy ones
(the distiller's annotator is noisy; K-means only propagates what it was told).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .seeding import generator

# Chosen on C-FMNIST at skew 0.9, eta 0.25 (share of all 60000 train group labels recovered): 4x4 pooling with
# K = 4G matched 8x8 / 16x16 pooling (FG 0.95, BG 1.00) on far fewer features; K = G gave FG 0.87, K = 2G
# 0.92-0.93 (studies.partial_labels.imputation_accuracy measures the recovered share of these features).
POOL = 4  # K-means features: each channel average-pooled to 4x4 (48 numbers per colour image)
CLUSTERS_PER_GROUP = 4  # K = 4 * G clusters
KMEANS_SEED = 0
KMEANS_INITS = 3


def add_group_noise(a: torch.Tensor, num_groups: int, rho: float, gen: torch.Generator) -> torch.Tensor:
    """A copy of ``a`` with exactly round(rho * N) random entries replaced by a uniformly drawn wrong group."""
    chosen = torch.randperm(len(a), generator=gen)[:math.floor(rho * len(a) + 0.5)]
    shift = torch.randint(1, num_groups, (len(chosen),), generator=gen)  # never 0 (mod G): always wrong
    noisy = a.clone()
    noisy[chosen] = (a[chosen] + shift) % num_groups
    return noisy


def pooled_features(x: torch.Tensor) -> torch.Tensor:
    """Flattened images average-pooled to POOL x POOL per channel, as K-means features."""
    return F.adaptive_avg_pool2d(x.float(), POOL).flatten(1)  # [N, C * 4 * 4]


def impute_groups(x: torch.Tensor, groups: torch.Tensor, known: torch.Tensor, num_groups: int) -> torch.Tensor:
    """``groups`` where ``known``; elsewhere the majority known group of the image's K-means cluster."""
    from sklearn.cluster import KMeans  # deferred: scikit-learn is slow to import

    k = CLUSTERS_PER_GROUP * num_groups
    kmeans = KMeans(n_clusters=k, n_init=KMEANS_INITS, random_state=KMEANS_SEED)
    clusters = torch.from_numpy(kmeans.fit_predict(pooled_features(x).numpy())).long()  # [N]
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
                   seed: int) -> torch.Tensor:
    """The train groups the distiller sees: a seeded fraction ``known_groups`` kept (noisy at rate
    ``group_noise``), the rest imputed by K-means on ``x``; at least one label is always kept."""
    known = torch.zeros(len(a), dtype=torch.bool)  # [N]
    known[torch.randperm(len(a), generator=generator(seed, "known-groups"))[:known_count(len(a), known_groups)]] = True
    observed = a.clone()
    observed[known] = add_group_noise(a[known], num_groups, group_noise, generator(seed, "group-noise"))
    if known.all():
        return observed
    return impute_groups(x, observed, known, num_groups)
