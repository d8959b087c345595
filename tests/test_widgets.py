"""The SKEW/GAP explorer: geometry, redraw change, the run button, live vs static display."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cobra_lab.widgets import SkewGapExplorer, frontend_connected


@pytest.fixture(scope="module")
def explorer() -> SkewGapExplorer:
    return SkewGapExplorer("cdigits_bg", skew=0.9, gap=0, profile="smoke", ipc=2)


def test_geometry_shapes_and_targets(explorer: SkewGapExplorer) -> None:
    geo = explorer.geometry
    classes, groups = geo.counts.shape
    assert geo.means.shape[:2] == (classes, groups) and set(geo.residuals) == {"vanilla", "cobra"}
    assert geo.counts.sum() == 900  # every train image counted
    # COBRA's target is the plain mean of the group means; vanilla's the count-weighted one
    torch.testing.assert_close(geo.targets["cobra"], geo.means.mean(1))
    weights = geo.counts.float() / geo.counts.sum(1, keepdim=True)
    torch.testing.assert_close(geo.targets["vanilla"], torch.einsum("cg,cgd->cd", weights, geo.means))


def test_sliders_change_the_plotted_data(explorer: SkewGapExplorer) -> None:
    import ipywidgets

    box = explorer.widget()
    skew, gap = box.children[0].children[:2]
    assert isinstance(skew, ipywidgets.FloatSlider) and isinstance(gap, ipywidgets.IntSlider)
    before = explorer.geometry
    for skew_value, gap_value in ((0.6, 0), (0.6, 3), (0.95, 1)):
        skew.value, gap.value = skew_value, gap_value  # what a user's drag does
        assert explorer.redraw_seconds > 0  # timed on every move; benchmarks/bench_redraw.py holds the budget
        assert (explorer.geometry.skew, explorer.geometry.gap) == (skew_value, gap_value)
    assert not torch.allclose(explorer.geometry.means, before.means)
    assert not torch.allclose(explorer.geometry.residuals["vanilla"], before.residuals["vanilla"])


def test_more_skew_moves_vanilla_away_from_the_minorities(explorer: SkewGapExplorer) -> None:
    low, high = explorer.compute(0.5, 0), explorer.compute(0.95, 0)
    assert high.residuals["vanilla"].mean() > low.residuals["vanilla"].mean()
    assert high.residuals["cobra"].mean() < high.residuals["vanilla"].mean()


def test_run_button_runs_then_reads_back(explorer: SkewGapExplorer, tmp_path: Path) -> None:
    explorer.root = str(tmp_path)
    explorer.redraw(0.9, 0)
    first = explorer.run_selected(progress=False)
    again = explorer.run_selected(progress=False)
    assert not first["cached"] and again["cached"] and again["acc"] == first["acc"]
    assert "cobra" in first["run_id"]


def test_static_figure_without_a_front_end(explorer: SkewGapExplorer) -> None:
    assert not frontend_connected()  # pytest is no notebook front end
    figure = explorer.show()
    assert figure is not None and len(figure.axes) == 2
