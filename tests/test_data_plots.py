"""Figures: image grid (classes x groups, blank empty cells) and count heat map."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cobra_lab.data import load
from cobra_lab.errors import UserError
from cobra_lab.plots import BLANK, CELL_GAP, count_heatmap, image_grid


@pytest.fixture
def digits(isolated_data_root: Path):
    return load("cdigits_fg", skew=1.0)  # skew 1: only the diagonal cells hold images


def test_image_grid_labels_and_blank_cells(digits) -> None:
    figure = image_grid(digits, per_cell=2)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == digits.class_names
    assert [t.get_text() for t in ax.get_xticklabels()] == digits.group_names
    canvas = ax.get_images()[0].get_array()  # [rows, cols, 3]
    cell_h, cell_w = 32 + CELL_GAP, 2 * 32 + CELL_GAP
    off_diagonal = canvas[0:32, cell_w:cell_w + 64]  # class 0, group 1: empty at skew 1
    assert np.allclose(off_diagonal, BLANK)
    diagonal = canvas[cell_h:cell_h + 32, cell_w:cell_w + 64]  # class 1, group 1
    assert not np.allclose(diagonal, BLANK)


def test_image_grid_test_split_and_bad_split(digits) -> None:
    image_grid(digits, split="test")
    with pytest.raises(UserError, match="unknown split"):
        image_grid(digits, split="val")
    with pytest.raises(UserError, match="per-cell"):
        image_grid(digits, per_cell=0)


def test_count_heatmap_annotates_counts(digits) -> None:
    figure = count_heatmap(digits)
    (ax, _colorbar) = figure.axes
    texts = [t.get_text() for t in ax.texts]
    counts = digits.train.counts(10, 10)
    assert texts == [str(int(v)) for v in counts.flatten()]
    cells = np.asarray(ax.collections[0].get_array()).reshape(10, 10)  # seaborn's heat map: a mesh of cells
    assert torch.equal(torch.as_tensor(cells).long(), counts)
    assert [t.get_text() for t in ax.get_xticklabels()] == digits.group_names
