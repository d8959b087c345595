"""The one look of the statistical figures (studies, dataset counts, audit): seaborn's theme, palette and font
sizes set in one place (``figure_style``, or ``styled`` on a figure function), and the colour of each mode and
baseline."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import seaborn as sns

PALETTE = "colorblind"
THEME = "whitegrid"
CONTEXT = "notebook"
FONT_SCALE = 0.9
_COLOURS = sns.color_palette(PALETTE)
# modes (and the runs without one) in the palette's colours, FULL in black; anything else grey
MODE_COLOURS = {"vanilla": _COLOURS[3], "fairdd": _COLOURS[1], "cobra": _COLOURS[0], "full": "black",
                "random": _COLOURS[7], "random_balanced": _COLOURS[5]}
OTHER_COLOUR = "gray"

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """seaborn's white grid at notebook scale with the colour-blind palette, for the figures drawn inside."""
    with sns.axes_style(THEME), sns.plotting_context(CONTEXT, font_scale=FONT_SCALE), sns.color_palette(PALETTE):
        yield


def styled(build: Callable[P, R]) -> Callable[P, R]:
    """``build`` (a figure function) drawn inside ``figure_style``."""
    @functools.wraps(build)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> R:
        with figure_style():
            return build(*args, **kwargs)

    return drawn


def colour_of(method: str, mode: str) -> object:
    """The colour of a (method, mode): the mode's, else the method's (a baseline without a mode), else grey."""
    return MODE_COLOURS.get(mode.split("/")[0], MODE_COLOURS.get(method, OTHER_COLOUR))
