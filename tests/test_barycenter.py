"""Barycenter solver: the known minimisers of each discrepancy, batched over classes, absent groups ignored."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from cobra_lab.barycenter import DISCREPANCIES, barycenter, objective


def random_phi(classes: int = 3, groups: int = 5, dim: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(classes, groups, dim, generator=gen, dtype=torch.float64) * 3
    present = torch.ones(classes, groups, dtype=torch.bool)
    present[1, -1] = False  # one class misses a group
    phi[1, -1] = 1e3  # whatever an absent group holds must not matter
    return phi, present


def weiszfeld(points: torch.Tensor, iterations: int = 5000) -> torch.Tensor:
    """The geometric median of points [n, D] by Weiszfeld's iteration."""
    m = points.mean(0)
    for _ in range(iterations):
        w = 1 / (points - m).norm(dim=1).clamp_min(1e-12)
        m = (w[:, None] * points).sum(0) / w.sum()
    return m


def test_squared_norm_gives_the_mean() -> None:
    phi, present = random_phi()
    m = barycenter(phi, present, "sq")
    torch.testing.assert_close(m[0], phi[0].mean(0))
    torch.testing.assert_close(m[1], phi[1, :-1].mean(0))


def test_l1_gives_the_coordinatewise_median() -> None:
    phi, present = random_phi()
    m = barycenter(phi, present, "l1")
    torch.testing.assert_close(m[0], phi[0].median(0).values, atol=1e-3, rtol=0)
    torch.testing.assert_close(m[2], phi[2].median(0).values, atol=1e-3, rtol=0)


def test_l2_gives_the_geometric_median() -> None:
    phi, present = random_phi()
    m = barycenter(phi, present, "l2")
    for c in range(3):
        points = phi[c][present[c]]
        torch.testing.assert_close(m[c], weiszfeld(points), atol=1e-4, rtol=0)


@pytest.mark.parametrize("discrepancy", ["linf", "cosine", "huber"])
def test_other_discrepancies_give_a_minimiser(discrepancy: str) -> None:
    phi, present = random_phi()
    m = barycenter(phi, present, discrepancy)
    best = objective(phi, present, m, discrepancy)
    assert best < objective(phi, present, phi.mean(1), discrepancy) + 1e-9  # no worse than the start
    gen = torch.Generator().manual_seed(1)
    for _ in range(200):  # no better point nearby
        nearby = m + 1e-2 * torch.randn(m.shape, generator=gen, dtype=m.dtype)
        assert objective(phi, present, nearby, discrepancy) >= best - 1e-6


@pytest.mark.parametrize("discrepancy", DISCREPANCIES)
def test_every_discrepancy_is_batched_per_class(discrepancy: str) -> None:
    """Solving all classes at once is as good, class by class, as solving one alone (minimisers of linf and
    cosine need not be unique, so objectives are compared)."""
    phi, present = random_phi()
    together = barycenter(phi, present, discrepancy)[2:3]
    alone = barycenter(phi[2:3], present[2:3], discrepancy)
    a = objective(phi[2:3], present[2:3], together, discrepancy)
    b = objective(phi[2:3], present[2:3], alone, discrepancy)
    assert a == pytest.approx(float(b), rel=1e-4, abs=1e-6)


def test_cobra_mode_uses_the_configured_discrepancy() -> None:
    from cobra_lab.modes import MODES

    phi, present = random_phi()
    counts = present.long() * 7
    mode = MODES.build("cobra").configured(SimpleNamespace(discrepancy="l2"))
    torch.testing.assert_close(mode.target(phi, counts), barycenter(phi, present, "l2"))
    mean = (phi * present.unsqueeze(-1)).sum(1) / present.sum(1, keepdim=True)  # [C, D] uniform over present
    squared = MODES.build("cobra").configured(SimpleNamespace(discrepancy="sq"))
    torch.testing.assert_close(squared.target(phi, counts), mean)


def test_discrepancy_option_in_configs_and_run_ids() -> None:
    from cobra_lab.config import identity, resolve
    from cobra_lab.errors import UserError
    from cobra_lab.store import run_id

    config = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke")
    assert config["distill"]["discrepancy"] == "sq" and "discrepancy" not in identity(config)["distill"]
    other = resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"distill.discrepancy": "huber"})
    assert run_id(other) != run_id(config)
    with pytest.raises(UserError, match="needs mode cobra"):
        resolve("cdigits_bg", "dm", "fairdd", 2, profile="smoke", overrides={"distill.discrepancy": "l1"})
    with pytest.raises(UserError, match="distill.discrepancy"):
        resolve("cdigits_bg", "dm", "cobra", 2, profile="smoke", overrides={"distill.discrepancy": "l3"})


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_distill_with_a_non_squared_barycenter(method: str, tmp_path) -> None:
    from cobra_lab.config import resolve
    from cobra_lab.runner import run_one

    config = resolve("cdigits_bg", method, "cobra", 1, profile="smoke", overrides={"distill.discrepancy": "l2"})
    metrics = run_one(config, tmp_path, progress=False)
    assert 0 <= metrics["acc"] <= 100


def test_a_class_whose_solve_breaks_down_keeps_the_mean(monkeypatch) -> None:
    phi = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    present = torch.ones(3, 4, dtype=torch.bool)

    def broken_step(self, closure):
        closure()
        with torch.no_grad():
            self.param_groups[0]["params"][0][1] = float("nan")  # class 1's solution breaks down

    monkeypatch.setattr(torch.optim.LBFGS, "step", broken_step)
    result = barycenter(phi, present, "linf")
    assert torch.isfinite(result).all()
    torch.testing.assert_close(result[1], phi[1].mean(0))
