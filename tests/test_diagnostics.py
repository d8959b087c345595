"""Residual geometry: group means, targets and the worst-case residual."""
import torch

from cobra_lab.diagnostics import group_means, targets, worst_case_residual


def test_group_means_and_counts() -> None:
    feats = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    y, a = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1])
    means, counts = group_means(feats, y, a, num_classes=2, num_groups=2)
    torch.testing.assert_close(means[0], torch.tensor([[2.0, 0.0], [0.0, 2.0]]))
    assert counts.tolist() == [[2, 1], [0, 1]]
    goals = targets(means, counts)
    torch.testing.assert_close(goals["vanilla"][0], torch.tensor([4 / 3, 2 / 3]))
    torch.testing.assert_close(goals["cobra"][0], torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(goals["cobra"][1], torch.tensor([5.0, 5.0]))  # the absent group is ignored


def test_worst_case_residual_ignores_absent_groups() -> None:
    phi = torch.tensor([[[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]]])  # [1, 3, 2]
    counts = torch.tensor([[3, 1, 0]])
    residual = worst_case_residual(phi, counts, torch.tensor([[1.0, 0.0]]))
    assert residual.tolist() == [9.0]
