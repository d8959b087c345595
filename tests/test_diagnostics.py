"""Residual geometry: group means, targets and the worst-case residual."""
import torch

from cobra_lab.diagnostics import fairdd_pull, group_means, residual_table, targets, worst_case_residual
from cobra_lab.methods.dm import DISTANCES
from cobra_lab.modes import MODES
from cobra_lab.sampling import cell_sample
from cobra_lab.studies.residuals import run_residuals


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


def test_fairdd_loss_is_smallest_at_its_pull_point() -> None:
    gen = torch.Generator().manual_seed(0)
    phi = torch.randn(3, 4, 5, generator=gen)  # [C, G, D]
    counts = torch.tensor([[9, 1, 1, 1], [5, 5, 0, 2], [0, 0, 7, 0]])
    pull = fairdd_pull(phi, counts).requires_grad_(True)  # [C, D]
    MODES.build("fairdd").loss(phi, counts, pull, DISTANCES["sq"]).backward()
    torch.testing.assert_close(pull.grad, torch.zeros_like(pull), atol=1e-5, rtol=0)  # the pulls cancel there
    torch.testing.assert_close(pull.detach(), targets(phi, counts)["cobra"])  # COBRA's point under the square norm
    assert not torch.allclose(pull.detach(), targets(phi, counts)["vanilla"])


def test_theorem_4_1_on_random_geometries() -> None:
    """Whenever the angle condition holds, COBRA's worst-case residual is at most vanilla's (Theorem 4.1)."""
    gen = torch.Generator().manual_seed(0)
    held = trials = 0
    for _ in range(300):
        classes, groups, dim = 4, int(torch.randint(2, 6, (1,), generator=gen)), 3
        phi = torch.randn(classes, groups, dim, generator=gen, dtype=torch.float64) * torch.rand(1, generator=gen) * 5
        counts = torch.randint(0, 50, (classes, groups), generator=gen)
        counts[:, 0] += 1  # every class has a group
        table = residual_table(phi, counts, [str(c) for c in range(classes)])
        trials += classes
        held += int(table["condition_holds"].sum())
        assert table.loc[table["condition_holds"], "cobra_below_vanilla"].all()
    print(f"angle condition held in {held} of {trials} random classes")
    assert 0 < held < trials  # both cases occur, so the check above has teeth


def test_real_statistics_of_a_trained_net(tmp_path) -> None:
    from cobra_lab.config import resolve
    from cobra_lab.data import load
    from cobra_lab.runner import run_one

    data = load("cdigits_bg")
    for method in ("dm", "dc"):
        result = run_one(resolve("cdigits_bg", method, "cobra", 1, profile="smoke"), tmp_path, progress=False)
        table = run_residuals(result["run_dir"], data, per_cell=4)
        assert len(table) == 10 and (table["maxres_cobra"] >= 0).all()
        assert table.loc[table["condition_holds"], "cobra_below_vanilla"].all()


def test_cell_sample_caps_each_cell() -> None:
    y, a = torch.tensor([0, 0, 0, 1, 1, 0]), torch.tensor([0, 0, 0, 1, 1, 1])
    rows = cell_sample(y, a, 2, per_cell=2, seed=0)
    assert sorted((y[rows] * 2 + a[rows]).tolist()) == [0, 0, 1, 3, 3]
