"""Figures several studies share: sweep curves with error bands, grouped result bars, and an empty-grid notice.

Drawn with seaborn in the shared style (``figure_style.styled``) on matplotlib's object API (no pyplot), so no GUI
backend is ever touched."""
from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..figure_style import colour_of, styled
from .tables import variant_label

METHOD_DASHES = {"dm": "", "dc": (4, 2)}  # line style of a method's sweep lines: solid, dashed
METRIC_LABELS = {"eod_max": "EOD (max) ↓", "eod_mean": "EOD (mean) ↓", "acc": "Acc ↑"}
BAND_ALPHA = 0.15


def _variants(agg: pd.DataFrame) -> pd.DataFrame:
    """``agg`` with a "variant" column naming each row's (method, mode) as legends do."""
    return agg.assign(variant=[variant_label(method, mode) for method, mode in zip(agg["method"], agg["mode"])])


def line_handles(palette: dict[str, object], dashes: dict[str, str | tuple] | None = None) -> list[Line2D]:
    """Legend entries for lines named by ``palette`` (name -> colour): a marked line each, dashed where ``dashes``
    says so (seaborn's dash specs: "" solid, (on, off) dashed)."""
    dashes = dashes or {}
    return [Line2D([], [], color=colour, marker="o", markeredgecolor="none", label=name,
                   dashes=dashes.get(name) or (None, None)) for name, colour in palette.items()]


@styled
def sweep_figure(panels: dict[str, pd.DataFrame], metric: str = "eod_max") -> Figure:
    """One column per swept knob (aggregated results varying it), rows EOD and Acc; a line per (method, mode),
    FULL in black, a band of +- one std."""
    fig = Figure(figsize=(4.2 * len(panels), 6.0), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for column, (knob, agg) in enumerate(panels.items()):
        lines = _variants(agg).sort_values(knob, kind="stable")
        methods = dict(zip(lines["variant"], lines["method"]))
        palette = {name: colour_of(method, mode) for name, method, mode in
                   zip(lines["variant"], lines["method"], lines["mode"])}
        dashes = {name: METHOD_DASHES.get(method, "") for name, method in methods.items()}
        for row, key in enumerate((metric, "acc")):
            ax = axes[row][column]
            sns.lineplot(lines, x=knob, y=key, hue="variant", style="variant", palette=palette, dashes=dashes,
                         markers=dict.fromkeys(methods, "o"), markeredgecolor="none", errorbar=None, ax=ax,
                         legend=False)
            for name, line in lines.groupby("variant", sort=False):
                low, high = line[key] - line[f"{key}_std"], line[key] + line[f"{key}_std"]
                ax.fill_between(line[knob].to_numpy(float), low.to_numpy(float), high.to_numpy(float),
                                color=palette[name], alpha=BAND_ALPHA, linewidth=0)
            ax.set_xlabel(knob.upper() if knob in ("skew", "gap") else knob)
            ax.set_ylabel(METRIC_LABELS.get(key, key))
    axes[0][0].legend(handles=line_handles(palette, dashes), fontsize=8)
    return fig


@styled
def no_results_figure(message: str = "no finished runs: see the table of failed runs") -> Figure:
    """A small figure that says there is nothing to draw (where every run of a grid failed)."""
    fig = Figure(figsize=(4.0, 1.2), layout="constrained")
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return fig


MIN_BARS_WIDTH = 4.5  # inches: one setting still leaves room for the axis labels and a legend row
LEGEND_ENTRY_WIDTH = 1.4  # inches one legend entry takes at font size 8


def _bar_rows(agg: pd.DataFrame, settings: list[str], by: str | None, metric: str) -> pd.DataFrame:
    """One row per (setting, variant) drawn as a bar: its EOD and accuracy with their std; FULL, which has no IPC,
    in every setting of its dataset (when settings are dataset and IPC)."""
    rows = []
    for (method, mode), mine in agg.groupby(["method", "mode"], sort=False):
        for setting in settings:
            match = mine[mine["_setting"] == setting]
            if match.empty and method == "full" and by is None:  # FULL has no IPC: the same bar in every group
                match = mine[mine["dataset"] == setting.split("\n")[0]]
            if not match.empty:
                rows.append({"setting": setting, "variant": variant_label(method, mode), "method": method,
                             **{key: match[key].iloc[0] for key in (metric, f"{metric}_std", "acc", "acc_std")}})
    return pd.DataFrame(rows)


@styled
def results_bars(agg: pd.DataFrame, metric: str = "eod_max", by: str | None = None) -> Figure:
    """EOD (top) and Acc (bottom) as grouped bars: one group per value of ``by`` (default: dataset and IPC), one
    bar per (method, mode), FULL included; whiskers +- one std."""
    if agg.empty:
        return no_results_figure()
    if by is None:
        labels = [f"{d}\nIPC {i}" if not pd.isna(i) else None for d, i in zip(agg["dataset"], agg["ipc"])]
    else:
        labels = [str(value) for value in agg[by]]
    agg = agg.assign(_setting=labels)
    settings = [label for label in dict.fromkeys(labels) if label is not None]
    variants = list(dict.fromkeys(zip(agg["method"], agg["mode"])))
    names = [variant_label(method, mode) for method, mode in variants]
    looks = {name: {"facecolor": colour_of(method, mode), "hatch": "//" if method == "dc" else None,
                    "alpha": 1.0 - 0.12 * (k % 4)} for k, (name, (method, mode)) in enumerate(zip(names, variants))}
    bars = _bar_rows(agg, settings, by, metric)
    width_in = max(MIN_BARS_WIDTH, 1.2 + 0.35 * len(variants) * max(1, len(settings)))
    fig = Figure(figsize=(width_in, 5.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, key in zip(axes, (metric, "acc")):
        sns.barplot(bars, x="setting", y=key, hue="variant", order=settings, hue_order=names,
                    palette={name: look["facecolor"] for name, look in looks.items()}, saturation=1.0,
                    errorbar=None, edgecolor="white", legend=False, ax=ax)
        drawn = [name for name in names if name in set(bars["variant"])]
        for name, container in zip(drawn, list(ax.containers)):  # one bar container per variant drawn
            mine = bars[bars["variant"] == name].set_index("setting")
            centres = [patch.get_x() + patch.get_width() / 2 for patch in container.patches]
            shown = [settings[round(centre)] for centre in centres]  # the setting each bar stands in
            for patch in container.patches:
                patch.set_hatch(looks[name]["hatch"])
                patch.set_alpha(looks[name]["alpha"])
            ax.errorbar(centres, mine.loc[shown, key], yerr=mine.loc[shown, f"{key}_std"], fmt="none",
                        ecolor="black", elinewidth=1.0)
        ax.set_xlabel("")
        ax.set_ylabel(METRIC_LABELS.get(key, key))
    handles = [Patch(label=name, edgecolor="white", **look) for name, look in looks.items()]
    fig.legend(handles=handles, fontsize=8, loc="outside upper center",
               ncol=min(4, len(variants), int(width_in // LEGEND_ENTRY_WIDTH)))
    return fig


__all__ = ["BAND_ALPHA", "METHOD_DASHES", "METRIC_LABELS", "line_handles", "no_results_figure", "results_bars",
           "sweep_figure"]
