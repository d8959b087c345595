"""DC statistics: batched per-cell gradients equal one autograd call per cell."""
import pytest
import torch
import torch.nn.functional as F
from engine_fixtures import smoke_config

from cobra_lab.errors import UserError
from cobra_lab.methods import METHODS
from cobra_lab.methods.dc import cell_gradients, matched_layers, reference_loops, rowwise_cosine_distance


def _net():
    method = METHODS.build("dc", smoke_config("dc", "cobra"), (3, 16, 16), 4)
    net = method.new_net(torch.Generator().manual_seed(0))
    return method, net


def test_cell_gradients_match_a_loop_over_cells():
    _, net = _net()
    generator = torch.Generator().manual_seed(1)
    cell = torch.tensor([0, 0, 0, 2, 3, 3, 5, 7, 7, 7, 7])  # 4 classes x 2 groups, cells of uneven size
    sizes = torch.bincount(cell, minlength=8)
    labels = cell // 2
    x = torch.randn(cell.numel(), 3, 16, 16, generator=generator)
    batched = cell_gradients(net, x, cell, sizes, labels, create_graph=False)
    weights = [layer.weight for layer in matched_layers(net)]
    for k in range(8):
        rows = cell == k
        if not rows.any():
            assert batched[k].abs().max() == 0
            continue
        grads = torch.autograd.grad(F.cross_entropy(net(x[rows]), labels[rows]), weights)
        torch.testing.assert_close(batched[k], torch.cat([g.flatten() for g in grads]), rtol=1e-4, atol=1e-6)


def test_synthetic_statistics_carry_gradient_to_images():
    method, net = _net()
    method.prepare(net, None, None, torch.Generator())
    x_syn = torch.randn(8, 3, 16, 16, requires_grad=True)
    stats = method.synthetic_statistics(net, x_syn, lambda images: images)
    assert stats.shape[0] == 4
    method.distance(stats, torch.randn_like(stats)).sum().backward()
    assert x_syn.grad is not None and x_syn.grad.abs().sum() > 0


def test_rowwise_cosine_distance():
    u = torch.tensor([[1.0, 0.0, 0.0, 2.0]])
    v = torch.tensor([[1.0, 0.0, 0.0, -2.0]])
    # two blocks of one 1x2 row... as (rows, cols): one block of 2 rows x 2 cols
    assert float(rowwise_cosine_distance(u, v, [(2, 2)])) == pytest.approx(0.0 + 2.0, abs=1e-5)


def test_reference_loops_and_norm_check():
    assert reference_loops(10) == (10, 50) and reference_loops(3) == (5, 10) and reference_loops(100) == (100, 10)
    config = smoke_config("dc", "cobra")
    config["net"]["norm"] = "batchnorm"
    with pytest.raises(UserError, match="per-image norm"):
        METHODS.build("dc", config, (3, 16, 16), 4)
