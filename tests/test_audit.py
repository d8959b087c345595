"""The audit's numbers: intervals over nets and by bootstrap, per-group rates cross-checked with fairlearn."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fairlearn.metrics import MetricFrame, true_positive_rate
from sklearn.metrics import accuracy_score

from cobra_lab import audit, audit_calibration
from cobra_lab.errors import UserError
from cobra_lab.evaluate import confidence_codes
from cobra_lab.fairness import group_calibration_error, rate_table


def record(nets: int = 2, per_cell: int = 10, classes: int = 3, groups: int = 2, seed: int = 0) -> dict:
    """Predictions of ``nets`` nets on a test split of ``per_cell`` images per (class, group), right 70 % of
    the time for group 0 and 40 % for group 1."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(groups * per_cell)
    a = torch.arange(groups).repeat_interleave(per_cell).repeat(classes)
    right = torch.rand(nets, len(y), generator=generator) < torch.where(a == 0, 0.7, 0.4)
    wrong = (y + 1 + torch.randint(classes - 1, (nets, len(y)), generator=generator)) % classes
    return {"predicted": torch.where(right, y, wrong).to(torch.int8), "y": y.to(torch.int8), "a": a.to(torch.int8)}


def test_bootstrap_intervals_hold_the_point_value_and_are_seeded() -> None:
    predictions = record()
    intervals = audit.bootstrap_interval(predictions, 3, 2, draws=100)
    assert intervals == audit.bootstrap_interval(predictions, 3, 2, draws=100)
    y, a = predictions["y"].long(), predictions["a"].long()
    point = [audit.net_metrics(p.long(), y, a, 3, 2) for p in predictions["predicted"]]
    for key, (low, high) in intervals.items():
        mean = sum(net[key] for net in point) / len(point)
        assert low < high and low <= mean <= high, key


def test_perfect_predictions_have_no_spread() -> None:
    predictions = record()
    predictions["predicted"] = predictions["y"].repeat(2, 1)
    intervals = audit.bootstrap_interval(predictions, 3, 2, draws=20)
    assert intervals["acc"] == (100.0, 100.0) and intervals["eod_max"] == (0.0, 0.0)


def test_the_interval_over_nets_is_a_t_interval_and_needs_two_nets() -> None:
    low, high = audit.net_interval([1.0, 2.0, 3.0])
    assert (low + high) / 2 == pytest.approx(2.0) and high - low == pytest.approx(2 * 4.302653 / math.sqrt(3))
    assert all(math.isnan(bound) for bound in audit.net_interval([5.0]))


def test_per_group_rates_match_fairlearn() -> None:
    predictions = record(nets=1)
    pred, y, a = (predictions[key].long().flatten() for key in ("predicted", "y", "a"))
    frame = MetricFrame(metrics=accuracy_score, y_true=y.numpy(), y_pred=pred.numpy(), sensitive_features=a.numpy())
    assert audit.group_accuracy(pred, y, a, 2).tolist() == pytest.approx((100 * frame.by_group).tolist())
    tpr = rate_table(pred, y, a, 3, 2, positives=True)  # [C, G]
    for label in range(3):
        frame = MetricFrame(metrics=true_positive_rate, y_true=(y == label).numpy(), y_pred=(pred == label).numpy(),
                            sensitive_features=a.numpy())
        assert tpr[label].tolist() == pytest.approx(frame.by_group.tolist())


def test_a_run_id_that_names_no_stored_run_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="no run 'missing'"):
        audit.load_audit("missing", tmp_path)
    with pytest.raises(UserError, match="no run"):
        audit.load_audit("../runs", tmp_path)


def test_the_calibration_error_of_a_hand_computed_case() -> None:
    # bin (14/15, 1]: confidences 0.95, 0.95, one right: |0.5 - 0.95| = 0.45, weight 2/5
    # bin (8/15, 9/15]: 0.55 and 0.6 (an edge belongs to the bin below it), both right: |1 - 0.575| = 0.425, 2/5
    # bin (4/15, 5/15]: 0.3, wrong: |0 - 0.3| = 0.3, weight 1/5
    confidence = torch.tensor([0.95, 0.95, 0.55, 0.6, 0.3], dtype=torch.float64)
    correct = torch.tensor([True, False, True, True, False])
    error = group_calibration_error(confidence, correct, torch.zeros(5, dtype=torch.long), 1)
    assert error.tolist() == pytest.approx([100 * (0.4 * 0.45 + 0.4 * 0.425 + 0.2 * 0.3)])


def test_perfect_calibration_has_no_error_in_any_group_and_a_miscalibrated_group_shows() -> None:
    confidence = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64).repeat_interleave(10).repeat(2)  # [60]
    right = torch.tensor([index < 10 * p for p in (0.2, 0.5, 0.8) for index in range(10)]).repeat(2)  # [60]
    a = torch.arange(2).repeat_interleave(30)
    assert group_calibration_error(confidence, right, a, 3).tolist()[:2] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert math.isnan(group_calibration_error(confidence, right, a, 3)[2])  # a group with no image
    overconfident = torch.where(a == 1, torch.full_like(confidence, 0.99), confidence)
    assert group_calibration_error(overconfident, right, a, 2)[1] == pytest.approx(100 * (0.99 - 0.5))


def test_calibration_summary_has_intervals_around_each_groups_mean() -> None:
    predictions = record(nets=3)
    generator = torch.Generator().manual_seed(1)
    predictions["confidence"] = confidence_codes(0.34 + 0.66 * torch.rand(3, 60, generator=generator))
    config = {"dataset": "cdigits_bg", "method": "dm", "mode": "cobra", "ipc": 10, "profile": "smoke", "seed": 0}
    run = audit.AuditRun(SimpleNamespace(config=config, path=Path("runs/x"), root=Path(".")),
                         {"tpr": [[0.0, 0.0]] * 3}, predictions)
    table = audit_calibration.calibration_summary([run], ["g0", "g1"], draws=50)
    assert table["group"].tolist() == ["g0", "g1"] and table["run"].tolist() == ["dm cobra IPC 10"] * 2
    per_net = audit_calibration.net_calibration(predictions, 2)  # [3, 2]
    assert table["ECE"].tolist() == pytest.approx(per_net.mean(0).tolist())
    assert ((table["nets_low"] <= table["ECE"]) & (table["ECE"] <= table["nets_high"])).all()
    assert ((table["boot_low"] < table["boot_high"]) & (table["boot_low"] <= table["ECE"] + 1e-9)).all()
    assert audit_calibration.missing_confidences([run]) == []
    del predictions["confidence"]
    assert "holds no confidences" in audit_calibration.missing_confidences([run])[0]
    assert audit_calibration.calibration_summary([run], ["g0", "g1"]).empty
