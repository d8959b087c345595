"""The reproduction at a glance: per study, how many of the paper's claims hold, fail, are within noise or were
not measured, as stacked bars."""
from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..claims import VERDICTS
from ..figure_style import PALETTE, styled

_COLOURS = sns.color_palette(PALETTE)
VERDICT_COLOURS = dict(zip(VERDICTS, [_COLOURS[2], _COLOURS[3], _COLOURS[7], "#dddddd"]))


@styled
def verdicts_figure(overview: pd.DataFrame) -> Figure:
    """One horizontal bar per study (``overview``: a row per study with its shows label and a count per
    verdict), split by verdict."""
    figure = Figure(figsize=(8, 0.45 * len(overview) + 1.4))
    ax = figure.subplots()
    labels = [f"{shows} ({study.split('_', 1)[0]})" for shows, study in zip(overview["shows"], overview["study"])]
    left = pd.Series(0, index=overview.index)
    for verdict in VERDICTS:
        ax.barh(labels, overview[verdict], left=left, color=VERDICT_COLOURS[verdict], label=verdict)
        left = left + overview[verdict]
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("the paper's claims")
    ax.legend(ncols=len(VERDICTS), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    figure.tight_layout()
    return figure
