"""Sentences that read a study's results, computed from them (a notebook's "Reading" never types a number): how
each variant moves along a sweep, where COBRA's EOD stands against vanilla's beyond the spread over evaluation
nets, and a ranking of the variants of one setting."""
from __future__ import annotations

import math

import pandas as pd

from ..claims import outcome
from ..config import FULL
from ..methods.selection import selection_methods
from ..sweep import AGGREGATED
from .tables import METRIC_NAMES, MODE_ORDER, variant_label

OUTCOMES = ("below", "within the spread of", "above")


def _span(rows: pd.DataFrame, knob: str, metric: str) -> str:
    """One variant along ``knob``: its EOD and accuracy at the first and the last value (one value: that one)."""
    first, last = rows.iloc[0], rows.iloc[-1]
    if len(rows) == 1:
        return f"{first[metric]:.1f} ({first['acc']:.1f} %)"
    return (f"{first[metric]:.1f} ({first['acc']:.1f} %) at {knob} {first[knob]:g} to {last[metric]:.1f} "
            f"({last['acc']:.1f} %) at {knob} {last[knob]:g}") if _numeric(rows[knob]) else \
        ", ".join(f"{row[knob]} {row[metric]:.1f} ({row['acc']:.1f} %)" for _, row in rows.iterrows())


def _numeric(values: pd.Series) -> bool:
    """Whether a knob's values are numbers (a sweep) rather than names (datasets, interventions)."""
    return all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)


def compare(ours: pd.Series, reference: pd.Series, metric: str) -> str:
    """Where ``ours``'s EOD stands against ``reference``'s: below, within the spread of, or above it, the spread
    being the two results' standard deviations over evaluation nets and seeds, combined."""
    spread = math.hypot(float(ours[f"{metric}_std"]), float(reference[f"{metric}_std"]))
    return OUTCOMES[1 - outcome(float(reference[metric]) - float(ours[metric]), spread)]  # below: the claimed way


def sweep_sentence(agg: pd.DataFrame, knob: str, metric: str = "eod_max") -> str:
    """How each variant's EOD (accuracy) moves along ``knob``, and, per method run in both modes, at how many
    ``knob`` values COBRA's EOD is below vanilla's beyond the spread, within it, or above it."""
    if agg.empty:
        return "No finished runs to read."
    name = METRIC_NAMES.get(metric, metric)
    parts = []
    for (method, mode), rows in sorted(agg.groupby(["method", "mode"], sort=False),
                                       key=lambda item: (item[0][0] == FULL, MODE_ORDER.index(item[0][1])
                                                         if item[0][1] in MODE_ORDER else len(MODE_ORDER))):
        parts.append(f"{variant_label(method, mode)} {_span(rows.sort_values(knob), knob, metric)}")
    sentence = f"{name} (accuracy) along {knob}: " + "; ".join(parts) + "."
    for method in dict.fromkeys(agg.loc[agg["method"] != FULL, "method"]):
        rows = agg[agg["method"] == method]
        cobra, vanilla = (rows[rows["mode"] == mode].set_index(knob) for mode in ("cobra", "vanilla"))
        shared = [value for value in cobra.index if value in vanilla.index]
        if not shared:
            continue
        outcomes = [compare(cobra.loc[value], vanilla.loc[value], metric) for value in shared]
        counts = ", ".join(f"{outcome} it at {outcomes.count(outcome)}" for outcome in OUTCOMES
                           if outcomes.count(outcome))
        sentence += (f" {method.upper()} COBRA's EOD against vanilla's, beyond the spread over evaluation nets and "
                     f"seeds: {counts} of {len(shared)} {knob} value{'s' if len(shared) > 1 else ''}.")
    return sentence


def ranking_sentence(frame: pd.DataFrame, by: str, metric: str = "eod_max") -> str:
    """The variants named by column ``by`` from the lowest EOD to the highest, each with its accuracy, and whether
    the lowest stands apart from the next beyond their spread."""
    if frame.empty:
        return "No finished runs to read."
    ranked = frame.sort_values(metric)
    listed = ", ".join(f"{row[by]} {row[metric]:.1f} ({row['acc']:.1f} %)" for _, row in ranked.iterrows())
    sentence = f"{METRIC_NAMES.get(metric, metric)} (accuracy), lowest first: {listed}."
    if len(ranked) > 1:
        best, runner_up = ranked.iloc[0], ranked.iloc[1]
        apart = compare(best, runner_up, metric) == OUTCOMES[0]
        sentence += (f" {best[by]} is lowest {'beyond' if apart else 'but within'} the spread over evaluation nets "
                     f"and seeds of the next, {runner_up[by]}.")
    return sentence


def baselines_sentence(agg: pd.DataFrame, metric: str = "eod_max") -> str:
    """Each distilled variant against the selection baselines of its setting (same dataset, IPC, data and seed
    count): in how many settings its EOD is below every baseline's and its accuracy above every baseline's."""
    selection = agg["method"].isin(selection_methods())
    distilled = agg[~selection & (agg["method"] != FULL)]
    if distilled.empty or not selection.any():
        return "No distilled set and selection baseline of one setting to compare."
    settings = [column for column in agg.columns if column not in ("method", "mode", "seeds", *AGGREGATED)
                and not column.endswith("_std")]
    picked = agg[selection].groupby(settings, dropna=False, sort=False)
    lowest_eod, highest_acc = picked[metric].min(), picked["acc"].max()
    parts = []
    for (method, mode), rows in distilled.groupby(["method", "mode"], sort=False):
        keys = pd.MultiIndex.from_frame(rows[settings]) if len(settings) > 1 else pd.Index(rows[settings[0]])
        shared = keys.isin(lowest_eod.index)
        if not shared.any():
            continue
        eod, acc = rows[metric].to_numpy()[shared], rows["acc"].to_numpy()[shared]
        fairer = int((eod < lowest_eod.reindex(keys[shared]).to_numpy()).sum())
        better = int((acc > highest_acc.reindex(keys[shared]).to_numpy()).sum())
        parts.append(f"{variant_label(method, mode)} lower EOD in {fairer}, higher accuracy in {better} of "
                     f"{int(shared.sum())}")
    names = " and ".join(variant_label(name, "") for name in dict.fromkeys(agg.loc[selection, "method"]))
    return (f"Against picking real images at the same IPC ({names}), the settings where a distilled set has a lower "
            f"{METRIC_NAMES.get(metric, metric)} than every baseline and a higher accuracy than every baseline: "
            + "; ".join(parts) + ".")


def objectives_sentence(dataset: str, method: str, ipc: int, profile: str) -> str:
    """How FairDD's and COBRA's objectives relate for ``method`` as ``profile`` configures it: one objective up to a
    factor G (FairDD's reduction sum) or equal (mean) plus a constant under a squared distance, else two."""
    from ..config import resolve  # deferred: reading sentences need no config unless this one is asked for
    from ..methods import METHODS
    from ..schema import typed

    config = typed(resolve(dataset, method, "fairdd", ipc, profile))
    backbone = METHODS.get(method)
    if backbone.kind != "statistic":
        return (f"{method.upper()} matches training trajectories, not per-group statistics: FairDD's per-group "
                f"distances have no counterpart there, and the comparison is vanilla against COBRA.")
    reduction = config.distill.fairdd_reduction
    if backbone(config, (3, 32, 32), 10).squared_distance():
        factor = "G times COBRA's loss" if reduction == "sum" else "COBRA's loss"
        return (f"{method.upper()} matches by a squared distance, under which FairDD and COBRA are one objective: "
                f"with the same stratified batches FairDD's loss, its per-group distances "
                f"{'summed' if reduction == 'sum' else 'averaged'} (distill.fairdd_reduction: {reduction}), is "
                f"{factor} plus a constant, so the two modes differ "
                f"{'by the step size alone' if reduction == 'sum' else 'by nothing but floating-point order'}; "
                f"the paper's text has FairDD average the groups, its released code sums them.")
    return (f"{method.upper()} does not match by a squared distance, so FairDD (its per-group distances, "
            f"{reduction} over the groups) and COBRA (the distance to the groups' barycenter) are different "
            f"objectives here.")


def objectives_sentences(dataset: str, methods: list[str], modes: list[str], ipc: int, profile: str) -> list[str]:
    """``objectives_sentence`` for each of ``methods`` where FairDD and COBRA are both among ``modes``."""
    if not {"fairdd", "cobra"} <= set(modes):
        return []
    return [objectives_sentence(dataset, method, ipc, profile) for method in methods]
