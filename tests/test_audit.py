"""The audit's numbers: intervals over nets and by bootstrap, per-group rates cross-checked with fairlearn."""
from __future__ import annotations

import math

import pytest
import torch
from fairlearn.metrics import MetricFrame, true_positive_rate
from sklearn.metrics import accuracy_score

from cobra_lab import audit
from cobra_lab.errors import UserError
from cobra_lab.fairness import rate_table


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
