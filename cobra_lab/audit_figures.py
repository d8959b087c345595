"""The audit's statistical figures, drawn with seaborn in the shared style (``figure_style``): metrics with their
95 % intervals, per (class, group) TPR heatmaps, per-class FPR gaps, per-group accuracy and calibration error."""
from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .audit import AuditRun, fpr_gaps, group_accuracies, tpr_table
from .figure_style import PALETTE, figure_style


def interval_figure(summary: pd.DataFrame) -> Figure:
    """One panel per metric of ``audit.metric_summary``: each run's mean, its 95 % interval over evaluation nets
    (thick) and by bootstrap over test images (thin), where there is one."""
    metrics = list(dict.fromkeys(summary["metric"]))
    runs = list(dict.fromkeys(summary["run"]))
    with figure_style():
        fig = Figure(figsize=(3.0 * len(metrics), 0.6 * len(runs) + 1.6), layout="constrained")
        axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        colours = sns.color_palette(PALETTE, len(runs))
        for ax, metric in zip(axes, metrics):
            rows = summary[summary["metric"] == metric].set_index("run")
            for position, run in enumerate(runs):
                if run not in rows.index:
                    continue
                row, colour = rows.loc[run], colours[position]
                ax.hlines(position, row["nets_low"], row["nets_high"], color=colour, linewidth=9, alpha=0.35)
                whiskers = [[row["mean"] - row["boot_low"]], [row["boot_high"] - row["mean"]]]  # NaN: none stored
                ax.errorbar(row["mean"], position, xerr=whiskers, fmt="o", color=colour, ecolor="black",
                            elinewidth=1.2, capsize=4, markersize=7, markeredgecolor="black")
            ax.set_title(f"{metric} (%)")
            ax.set_yticks(range(len(runs)), runs)
            ax.set_ylim(len(runs) - 0.5, -0.5)
        fig.suptitle("mean over nets; wide band: 95 % interval over nets (cut to 0-100), black whiskers: 95 % "
                     "bootstrap over test images")
    return fig


def calibration_figure(calibration: pd.DataFrame) -> Figure:
    """The expected calibration error (%) per group of ``audit_calibration.calibration_summary``: each run's mean
    over nets, its 95 % interval over nets (wide band) and by bootstrap over test images (black whiskers), runs
    side by side within each group."""
    groups = list(dict.fromkeys(calibration["group"]))
    runs = list(dict.fromkeys(calibration["run"]))
    with figure_style():
        fig = Figure(figsize=(min(14.0, 4.5 + 0.28 * len(groups) * len(runs)), 3.8), layout="constrained")
        ax = fig.add_subplot()
        colours = sns.color_palette(PALETTE, len(runs))
        width = 0.8 / max(1, len(runs))
        for index, run in enumerate(runs):
            rows = calibration[calibration["run"] == run].set_index("group").reindex(groups)
            x = [position + (index - (len(runs) - 1) / 2) * width for position in range(len(groups))]
            ax.vlines(x, rows["nets_low"], rows["nets_high"], color=colours[index], linewidth=9, alpha=0.35)
            whiskers = [rows["ECE"] - rows["boot_low"], rows["boot_high"] - rows["ECE"]]
            ax.errorbar(x, rows["ECE"], yerr=whiskers, fmt="o", color=colours[index], ecolor="black",
                        elinewidth=1.2, capsize=3, markersize=6, markeredgecolor="black", label=run)
        ax.set_xticks(range(len(groups)), groups, rotation=45, ha="right")
        ax.set_xlabel("group; wide band: 95 % interval over nets, black whiskers: 95 % bootstrap over test images")
        ax.set_ylabel("ECE (%)")
        ax.set_ylim(bottom=0)
        if runs:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        ax.grid(axis="x", visible=False)
        ax.set_title("calibration error per group, 15 equal-width bins (lower: better calibrated)")
    return fig


def tpr_heatmaps(audits: list[AuditRun], class_names: list[str], group_names: list[str]) -> Figure:
    """The mean TPR (%) per (class, group) of each run, side by side on one colour scale; blank: no test image."""
    with figure_style():
        fig = Figure(figsize=(0.45 * len(group_names) * len(audits) + 2.5, 0.4 * len(class_names) + 1.8),
                     layout="constrained")
        axes = fig.subplots(1, len(audits), squeeze=False)[0]
        for index, (ax, audit) in enumerate(zip(axes, audits)):
            table = pd.DataFrame(tpr_table(audit).numpy(), index=class_names, columns=group_names)
            sns.heatmap(table, ax=ax, vmin=0, vmax=100, cmap="viridis", annot=True, fmt=".0f",
                        annot_kws={"fontsize": 6}, cbar=index == len(audits) - 1,
                        cbar_kws={"label": "TPR (%)"}, square=True, linewidths=0.5, linecolor="white")
            ax.set_title(audit.label)
            ax.set_xlabel("group")
            ax.set_ylabel("class" if index == 0 else "")
            ax.tick_params(axis="y", rotation=0)
            if index:
                ax.set_yticklabels([])
        fig.suptitle("TPR per class and group: a row of one colour treats the class's groups alike")
    return fig


def _bar_figure(rows: list[dict], x: str, y: str, title: str) -> Figure:
    """Bars of ``y`` per ``x``, one colour per run (``rows``: one dict per bar, with "run", x and y)."""
    with figure_style():
        fig = Figure(figsize=(9, 3.4), layout="constrained")
        ax = fig.add_subplot()
        if rows:
            sns.barplot(pd.DataFrame(rows), x=x, y=y, hue="run", ax=ax)
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=45)
    return fig


def fpr_gap_figure(audits: list[AuditRun], class_names: list[str]) -> Figure:
    """Per-class FPR gap (max minus min over groups, %) of each run, bars side by side (runs stored without
    predictions are left out)."""
    rows = [{"run": audit.label, "class": name, "FPR gap (%)": float(value)}
            for audit in audits if (gaps := fpr_gaps(audit)) is not None for name, value in zip(class_names, gaps)]
    return _bar_figure(rows, "class", "FPR gap (%)", "FPR gap per class: max minus min over groups (lower is fairer)")


def group_accuracy_figure(audits: list[AuditRun], group_names: list[str]) -> Figure:
    """Accuracy per group (%) of each run, bars side by side (runs stored without predictions are left out)."""
    rows = [{"run": audit.label, "group": name, "accuracy (%)": float(value)}
            for audit in audits if (groups := group_accuracies(audit)) is not None
            for name, value in zip(group_names, groups)]
    return _bar_figure(rows, "group", "accuracy (%)", "accuracy per group (the lowest bar is the worst group)")


__all__ = ["calibration_figure", "fpr_gap_figure", "group_accuracy_figure", "interval_figure",
           "tpr_heatmaps"]
