"""The statistical figures share one seaborn style, set in one place (``cobra_lab.figure_style``)."""
from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer

from cobra_lab import audit_figures, figure_style, plots
from cobra_lab.studies import calibration, figures, label_noise, mtt, overhead, residuals

STYLED = [plots.count_heatmap, figures.sweep_figure, figures.results_bars, figures.no_results_figure,
          mtt.expert_gap_figure, residuals.residual_figure, calibration.calibration_figure, overhead.overhead_figure,
          label_noise.dilution_figure, label_noise.positions_figure]


@pytest.mark.parametrize("build", STYLED, ids=lambda build: build.__name__)
def test_each_study_figure_is_drawn_in_the_shared_style(build) -> None:
    assert build.__wrapped__.__name__ == build.__name__  # ``figure_style.styled``


def test_a_figure_takes_the_style_and_leaves_the_defaults_alone() -> None:
    agg = pd.DataFrame({"dataset": ["d", "d", "d"], "method": ["dm", "random", "full"], "mode": ["cobra", "", "full"],
                        "ipc": [10, 10, None], "eod_max": [20.0, 40.0, 10.0], "eod_max_std": [1.0, 2.0, 0.5],
                        "acc": [60.0, 50.0, 80.0], "acc_std": [1.0, 1.0, 0.5]})
    defaults = {key: value for key, value in matplotlib.rcParams.items() if key != "backend"}  # resolved lazily
    fig = figures.results_bars(agg)
    assert {key: value for key, value in matplotlib.rcParams.items() if key != "backend"} == defaults  # inside only
    expected = sns.plotting_context(figure_style.CONTEXT, font_scale=figure_style.FONT_SCALE)["axes.labelsize"]
    assert fig.axes[0].yaxis.label.get_size() == pytest.approx(expected)
    assert any(line.get_visible() for line in fig.axes[0].get_ygridlines())  # whitegrid
    colours = [to_rgba(patch.get_facecolor(), 1.0) for container in fig.axes[0].containers
               if isinstance(container, BarContainer) for patch in container.patches]
    assert colours == [to_rgba(figure_style.colour_of(m, mode)) for m, mode in zip(agg["method"], agg["mode"])]


def test_the_audit_figures_use_the_same_style() -> None:
    assert audit_figures.figure_style is figure_style.figure_style
