"""How well K-means imputation recovers the hidden group labels (the partial-label study, Table 16)."""
from __future__ import annotations

import pandas as pd

from ..data import load
from ..data.groups import known_count


def imputation_accuracy(dataset: str, etas: list[float], skew: float | None = None, seed: int = 0) -> pd.DataFrame:
    """Per known fraction eta: the share of train group labels the distiller sees correctly, overall and among
    the imputed ones (the known ones are exact, so imputed = (overall - eta') / (1 - eta'), eta' the kept share)."""
    rows = []
    for eta in etas:
        train = load(dataset, skew=skew, known_groups=eta, seed=seed).train
        correct = float((train.a == train.a_observed).float().mean())
        kept = known_count(len(train), eta) / len(train)
        imputed = (correct - kept) / (1 - kept) if kept < 1 else float("nan")
        rows.append({"known_groups": eta, "observed_accuracy": 100 * correct, "imputed_accuracy": 100 * imputed})
    return pd.DataFrame(rows)
