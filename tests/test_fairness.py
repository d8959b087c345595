"""EOD and FPR gaps on hand-made predictions, checked by hand and against fairlearn."""
import numpy as np
import pytest
import torch

from cobra_lab.fairness import fairness_metrics, rate_table


def _table():
    # 3 classes x 2 groups, 4 images per cell
    y = torch.tensor([0] * 8 + [1] * 8 + [2] * 8)
    a = torch.tensor(([0] * 4 + [1] * 4) * 3)
    pred = torch.tensor([0, 0, 0, 0, 0, 1, 1, 2,   # class 0: TPR g0 = 4/4, g1 = 1/4
                         1, 1, 0, 2, 1, 1, 1, 1,   # class 1: TPR g0 = 2/4, g1 = 4/4
                         2, 2, 2, 0, 2, 2, 2, 1])  # class 2: TPR g0 = 3/4, g1 = 3/4
    return pred, y, a


def test_eod_by_hand():
    pred, y, a = _table()
    metrics = fairness_metrics(pred, y, a, 3, 2)
    gaps = [75.0, 50.0, 0.0]
    assert metrics["eod_max"] == pytest.approx(max(gaps))
    assert metrics["eod_mean"] == pytest.approx(sum(gaps) / 3)
    assert metrics["acc"] == pytest.approx(100 * 17 / 24)
    assert metrics["tpr"][0] == pytest.approx([100.0, 25.0])


def test_fpr_table_by_hand():
    pred, y, a = _table()
    fpr = rate_table(pred, y, a, 3, 2, positives=False)
    # predicted 0 among the 8 non-0 images of each group: group 0 twice (one of class 1, one of class 2)
    assert fpr[0].tolist() == pytest.approx([2 / 8, 0.0])


def test_empty_cell_takes_no_part():
    pred, y, a = _table()
    keep = ~((y == 2) & (a == 1))
    metrics = fairness_metrics(pred[keep], y[keep], a[keep], 3, 2)
    assert metrics["eod_mean"] == pytest.approx((75.0 + 50.0 + 0.0) / 3)


def test_agrees_with_fairlearn_one_vs_rest_recall_differences():
    fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
    from sklearn.metrics import recall_score
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (400,), generator=generator)
    a = torch.randint(0, 3, (400,), generator=generator)
    pred = torch.where(torch.rand(400, generator=generator) < 0.6, y, torch.randint(0, 5, (400,), generator=generator))
    ours = fairness_metrics(pred, y, a, 5, 3)
    gaps = []
    for label in range(5):
        frame = fairlearn_metrics.MetricFrame(metrics=recall_score, y_true=(y == label).numpy(),
                                              y_pred=(pred == label).numpy(), sensitive_features=a.numpy())
        gaps.append(100 * frame.difference(method="between_groups"))
    assert ours["eod_max"] == pytest.approx(max(gaps))
    assert ours["eod_mean"] == pytest.approx(float(np.mean(gaps)))


def test_test_subset_is_stratified_and_seeded() -> None:
    import torch

    from cobra_lab.data.types import Split
    from cobra_lab.evaluate import test_subset

    y, a = torch.arange(200) % 4, (torch.arange(200) // 4) % 5
    split = Split(torch.randn(200, 1, 2, 2), y, a, a.clone())
    small = test_subset(split, 40, seed=0)
    counts = torch.bincount(small.y * 5 + small.a, minlength=20)
    assert len(small) == 40 and (counts == 2).all()
    assert torch.equal(small.x, test_subset(split, 40, seed=0).x)
    assert test_subset(split, None, seed=0) is split and test_subset(split, 500, seed=0) is split
