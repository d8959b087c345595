"""Embeddings of stored runs: kNN purity, projections, the whole path on a stored smoke run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cobra_lab.config import resolve
from cobra_lab.data import load
from cobra_lab.errors import UserError
from cobra_lab.runner import run_one
from cobra_lab.studies.tsne import chance_purity, embed_run, knn_purity, project


def test_knn_purity_separated_and_mixed() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    separated = rng.normal(size=(100, 4)) + labels[:, None] * 20
    assert knn_purity(separated, labels, 5) == 1.0
    mixed = rng.normal(size=(100, 4))
    assert abs(knn_purity(mixed, labels, 5) - chance_purity(labels)) < 0.15
    assert chance_purity(labels) == 0.5


def test_project_shapes_and_bad_name() -> None:
    feats = np.random.default_rng(0).normal(size=(40, 8))
    assert project(feats, "tsne", 0).shape == (40, 2)
    with pytest.raises(UserError, match="projection"):
        project(feats, "pca", 0)


def test_embed_a_stored_run(tmp_path: Path) -> None:
    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    result = run_one(config, tmp_path, progress=False)
    data = load("cdigits_bg")
    panel = embed_run(result["run_dir"], data, points=60, neighbours=5)
    assert panel["xy"].shape == (60, 2) and panel["y"].shape == (60,)
    assert 0 <= panel["group_purity"] <= 1 and 0 <= panel["class_purity"] <= 1
    assert 0 < panel["group_purity_se"] < 0.5 and 0 < panel["class_purity_se"] < 0.5  # over 60 points
    again = embed_run(result["run_dir"], data, points=60, neighbours=5)
    assert again["group_purity"] == panel["group_purity"]  # seeded net, sample and projection
