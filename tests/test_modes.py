"""Modes: targets, losses and the gradients they send to the synthetic images."""
from types import SimpleNamespace

import torch
from engine_fixtures import smoke_config

from cobra_lab.methods import METHODS
from cobra_lab.modes import MODES
from cobra_lab.sampling import RealBatch

SQ = lambda u, v: (u - v).pow(2).sum(-1)  # noqa: E731


def _table(generator, classes=3, groups=4, dim=5):
    phi = torch.randn(classes, groups, dim, generator=generator)
    counts = torch.randint(1, 9, (classes, groups), generator=generator)
    counts[0, 1] = 0  # one empty cell: that group is absent from class 0
    return phi, counts


def test_target_shapes_and_weights():
    phi, counts = _table(torch.Generator().manual_seed(0))
    vanilla = MODES.build("vanilla").target(phi, counts)
    cobra = MODES.build("cobra").target(phi, counts)
    assert vanilla.shape == cobra.shape == (3, 5)
    present = [0, 2, 3]
    torch.testing.assert_close(cobra[0], phi[0, present].mean(0))
    weights = counts[1].float() / counts[1].sum()
    torch.testing.assert_close(vanilla[1], (weights[:, None] * phi[1]).sum(0))


def test_df_reweights_the_pooled_batch_to_the_group_mean():
    phi, counts = _table(torch.Generator().manual_seed(2))
    df = MODES.build("df")
    # a batch that mirrors each class's group mix: every present group gets the same weight, COBRA's target
    torch.testing.assert_close(df.target(phi, counts, counts * 10), MODES.build("cobra").target(phi, counts))
    # class 1: group 0 holds 70 % of the train images and 8 of 11 batch images; weights counts / share
    population = torch.tensor([[5, 5, 5, 5], [70, 10, 10, 10], [5, 5, 5, 5]])
    batch = torch.tensor([[1, 0, 1, 1], [8, 1, 1, 1], [1, 1, 1, 1]])
    weights = torch.tensor([8 / 0.7, 1 / 0.1, 1 / 0.1, 1 / 0.1])
    expected = (weights[:, None] * phi[1]).sum(0) / weights.sum()
    torch.testing.assert_close(df.target(phi, batch, population)[1], expected)
    assert not torch.allclose(expected, MODES.build("vanilla").target(phi, batch)[1])


def test_fairdd_ignores_absent_groups_and_sums():
    phi, counts = _table(torch.Generator().manual_seed(1))
    syn = torch.randn(3, 5)
    expected = sum(SQ(phi[c, g], syn[c]) for c in range(3) for g in range(4) if counts[c, g] > 0)
    torch.testing.assert_close(MODES.build("fairdd").loss(phi, counts, syn, SQ), expected)
    # reduction mean (the released COBRA-IDC code): each class's sum over the groups present divided by their number
    averaged = MODES.build("fairdd").configured(SimpleNamespace(fairdd_reduction="mean")).loss(phi, counts, syn, SQ)
    present = (counts > 0).sum(1)  # [3]: class 0 lacks one group
    expected = sum(SQ(phi[c, g], syn[c]) / present[c] for c in range(3) for g in range(4) if counts[c, g] > 0)
    torch.testing.assert_close(averaged, expected)


def _dm_setup():
    method = METHODS.build("dm", smoke_config("dm", "cobra"), (3, 16, 16), 3)
    generator = torch.Generator().manual_seed(0)
    net = method.new_net(generator)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return method, net, generator


def _batch(cells: torch.Tensor, classes: int, groups: int) -> RealBatch:
    counts = torch.bincount(cells, minlength=classes * groups).view(classes, groups)
    return RealBatch(index=torch.arange(cells.numel()), cell=cells, counts=counts)


def test_dm_fairdd_gradient_is_groups_present_times_cobra_gradient():
    method, net, generator = _dm_setup()
    cells = torch.tensor([0, 0, 1, 2, 2, 2, 3, 5, 5, 6, 7, 7, 8, 8, 11])  # 3 classes x 4 groups, some empty
    batch = _batch(cells, 3, 4)
    x = torch.randn(cells.numel(), 3, 16, 16, generator=generator)
    phi = method.real_statistics(net, x, batch, lambda images: images).view(3, 4, -1)
    grads = {}
    for name in ("fairdd", "cobra"):
        x_syn = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(5), requires_grad=True)
        loss = MODES.build(name).loss(phi, batch.counts, method.synthetic_statistics(net, x_syn, lambda i: i),
                                      method.distance)
        loss.backward()
        grads[name] = x_syn.grad.view(3, 2, -1)
    present = (batch.counts > 0).sum(1)  # [3] groups present per class
    assert present.tolist() == [4, 3, 2]
    torch.testing.assert_close(grads["fairdd"], present.view(3, 1, 1).float() * grads["cobra"], rtol=1e-4, atol=1e-6)


def test_cobra_target_ignores_duplicated_group_but_vanilla_moves():
    method, net, generator = _dm_setup()
    cells = torch.tensor([0, 0, 0, 1, 1, 4, 4, 5, 8, 9, 9])  # 3 classes x 4 groups
    x = torch.randn(cells.numel(), 3, 16, 16, generator=generator)
    duplicate = cells == 1  # class 0, group 1: its images appear twice
    cells_dup = torch.cat([cells, cells[duplicate]])
    x_dup = torch.cat([x, x[duplicate]])
    targets = {}
    for label, (cell_ids, images) in {"once": (cells, x), "twice": (cells_dup, x_dup)}.items():
        batch = _batch(cell_ids, 3, 4)
        phi = method.real_statistics(net, images, batch, lambda i: i).view(3, 4, -1)
        targets[label] = {name: MODES.build(name).target(phi, batch.counts) for name in ("vanilla", "cobra")}
    torch.testing.assert_close(targets["once"]["cobra"], targets["twice"]["cobra"])
    assert not torch.allclose(targets["once"]["vanilla"][0], targets["twice"]["vanilla"][0])
    torch.testing.assert_close(targets["once"]["vanilla"][1:], targets["twice"]["vanilla"][1:])
