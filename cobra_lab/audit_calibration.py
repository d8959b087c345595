"""The audit's calibration (notebook 15, ``cobra-lab report``): each run's expected calibration error per group from
its stored confidences, with 95 % intervals over evaluation nets and by bootstrap over test images."""
from __future__ import annotations

import math
import statistics

import pandas as pd
import torch

from .audit import BOOTSTRAP_DRAWS, AuditRun, net_interval, percentile_interval, prediction_tensors, resamples, shape_of
from .evaluate import confidence_values
from .fairness import group_calibration_error


def missing_confidences(audits: list[AuditRun]) -> list[str]:
    """A line for each run stored with predictions but before their confidences were kept, with the command that
    recomputes it."""
    return [f"{audit.run_id} holds no confidences (stored before they were kept): its calibration error is left "
            f"out; recompute it with `{audit.recompute_command}`"
            for audit in audits if audit.predictions is not None and "confidence" not in audit.predictions]


def net_calibration(record: dict, num_groups: int, pick: torch.Tensor | None = None) -> torch.Tensor:
    """Each net's calibration error in percent per group [R, G] (``group_calibration_error``) on the test images
    ``pick`` [M] (None: all of them)."""
    predicted, y, a = prediction_tensors(record)
    confidence = confidence_values(record["confidence"])  # [R, N]
    if pick is not None:
        predicted, confidence, y, a = predicted[:, pick], confidence[:, pick], y[pick], a[pick]
    return torch.stack([group_calibration_error(conf, pred == y, a, num_groups)
                        for pred, conf in zip(predicted, confidence)])


def calibration_summary(audits: list[AuditRun], group_names: list[str], draws: int = BOOTSTRAP_DRAWS
                        ) -> pd.DataFrame:
    """One row per (run, group): the expected calibration error (percent, 15 equal-width bins) as the mean over
    nets, its 95 % interval over nets ("nets_low", "nets_high", cut to 0-100) and by bootstrap over test images
    ("boot_low", "boot_high"; ``resamples``); runs without stored confidences are left out."""
    rows = []
    for audit in audits:
        if audit.predictions is None or "confidence" not in audit.predictions:
            continue
        num_classes, num_groups = shape_of(audit)
        _, y, a = prediction_tensors(audit.predictions)
        per_net = net_calibration(audit.predictions, num_groups)  # [R, G]
        draws_mean = torch.stack([net_calibration(audit.predictions, num_groups, pick).mean(0) for pick in
                                  resamples(y, a, num_classes, num_groups, draws, audit.config["seed"])])  # [D, G]
        boot_low, boot_high = percentile_interval(draws_mean)  # [G] each
        for group, name in enumerate(group_names):
            values = per_net[:, group].tolist()
            if any(math.isnan(value) for value in values):
                continue  # no test image of the group
            low, high = (min(max(bound, 0.0), 100.0) for bound in net_interval(values))
            rows.append({"run": audit.label, "group": name, "ECE": statistics.fmean(values), "nets_low": low,
                         "nets_high": high, "boot_low": float(boot_low[group]), "boot_high": float(boot_high[group])})
    return pd.DataFrame(rows, columns=["run", "group", "ECE", "nets_low", "nets_high", "boot_low", "boot_high"])


def calibration_sentence(calibration: pd.DataFrame) -> str:
    """One sentence read off ``calibration_summary``: each run's worst- and best-calibrated group."""
    if calibration.empty:
        return "No run here holds stored confidences: no calibration error to show."
    parts = []
    for run, rows in calibration.groupby("run", sort=False):
        worst, best = rows.loc[rows["ECE"].idxmax()], rows.loc[rows["ECE"].idxmin()]
        parts.append(f"{run}: from {best['ECE']:.1f} % ({best['group']}) to {worst['ECE']:.1f} % ({worst['group']})")
    return ("Calibration error per group, best to worst group: " + "; ".join(parts) + ". A group whose error "
            "stands apart is one whose confidences the nets misjudge.")


__all__ = ["calibration_sentence", "calibration_summary", "missing_confidences", "net_calibration"]
