"""Every registered architecture at 28 (1 channel), 32 and 64 px: shapes, seeded init, a learning step."""
from __future__ import annotations

import pytest
import torch

from cobra_lab import nets
from cobra_lab.accel.pooling import MeanPool2


@pytest.mark.parametrize("name", nets.NETS.names())
@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32), (3, 64)])
def test_shapes(name: str, channels: int, size: int) -> None:
    net = nets.build(name, channels, 7, size, torch.Generator().manual_seed(0))
    x = torch.randn(1, channels, size, size)
    with torch.no_grad():
        assert net(x).shape == (1, 7)
        assert net.embed(x).shape == (1, net.embed_dim)


@pytest.mark.parametrize("name", nets.NETS.names())
def test_seeded_and_every_parameter_learns(name: str) -> None:
    a = nets.build(name, 3, 4, 32, torch.Generator().manual_seed(3))
    b = nets.build(name, 3, 4, 32, torch.Generator().manual_seed(3))
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    x, y = torch.randn(2, 3, 32, 32), torch.arange(2)
    torch.nn.functional.cross_entropy(a(x), y).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in a.parameters()), "a parameter gets no gradient"


@pytest.mark.parametrize("shape", [(3, 5, 32, 32), (2, 4, 8, 16), (2, 3, 7, 9)])
def test_mean_pool_is_avg_pool2d_with_its_first_and_second_derivatives(shape: tuple[int, ...]) -> None:
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    pooled, expected = MeanPool2()(x), torch.nn.functional.avg_pool2d(x, 2)
    torch.testing.assert_close(pooled, expected)
    weights = torch.randn_like(expected)
    grad, = torch.autograd.grad((pooled * weights).sum().square(), x, create_graph=True)
    grad_expected, = torch.autograd.grad((expected * weights).sum().square(), x, create_graph=True)
    torch.testing.assert_close(grad, grad_expected)
    probe = torch.randn_like(x)
    second, = torch.autograd.grad((grad * probe).sum(), x)
    second_expected, = torch.autograd.grad((grad_expected * probe).sum(), x)
    torch.testing.assert_close(second, second_expected)


def test_convnet_pools_with_mean_pool() -> None:
    net = nets.build("convnet", 3, 4, 32, torch.Generator().manual_seed(0), width=8)
    pools = [module for module in net.modules() if isinstance(module, MeanPool2)]
    assert len(pools) == 3 and not any(isinstance(m, torch.nn.AvgPool2d) for m in net.modules())
