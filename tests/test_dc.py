"""DC statistics: batched per-cell gradients equal one autograd call per cell, eager, threaded or compiled."""
import pytest
import torch
from engine_fixtures import loop_over_cells, smoke_config

from cobra_lab.accel import Acceleration, gradients
from cobra_lab.accel.chunks import cell_aligned_chunks
from cobra_lab.accel.compiled_gradients import compiled_class_gradients
from cobra_lab.accel.gradients import (
    _image_weight_gradients,
    batch_cell_gradients,
    image_summed_gradients,
)
from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.methods import METHODS
from cobra_lab.methods.dc import reference_loops, rowwise_cosine_distance
from cobra_lab.sampling import CellSampler


def _net(**distill):
    method = METHODS.build("dc", smoke_config("dc", "cobra", **distill), (3, 16, 16), 4)
    net = method.new_net(torch.Generator().manual_seed(0))
    return method, net


def test_cell_gradients_match_aloop_over_cells():
    _, net = _net()
    generator = torch.Generator().manual_seed(1)
    cell = torch.tensor([0, 0, 0, 2, 3, 3, 5, 7, 7, 7, 7])  # 4 classes x 2 groups, cells of uneven size
    sizes = torch.bincount(cell, minlength=8)
    labels = cell // 2
    x = torch.randn(cell.numel(), 3, 16, 16, generator=generator)
    expected = loop_over_cells(net, x, cell, labels, 8)
    for batched in (batch_cell_gradients(net, x, cell, sizes, labels, create_graph=False),
                    image_summed_gradients(net, x, cell, sizes, labels)):
        assert batched[sizes == 0].abs().max() == 0
        torch.testing.assert_close(batched, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layer", [torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), torch.nn.Linear(5, 3)])
def test_image_weight_gradients_are_each_images_own(layer):
    generator = torch.Generator().manual_seed(4)
    shape = (3, 4, 8, 8) if isinstance(layer, torch.nn.Conv2d) else (3, 5)
    inputs = torch.randn(*shape, generator=generator)
    out_grad = torch.randn_like(layer(inputs), memory_format=torch.contiguous_format)
    expected = torch.stack([torch.autograd.grad(layer(image[None]), layer.weight, grad[None])[0].flatten()
                            for image, grad in zip(inputs, out_grad)])  # [3, weight numel]
    torch.testing.assert_close(_image_weight_gradients(layer, inputs, out_grad), expected, rtol=1e-5, atol=1e-6)


def test_synthetic_gradients_and_their_image_gradients_match_a_loop_over_classes():
    method, net = _net()
    method.prepare(net, None, None, torch.Generator())
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(12, 3, 16, 16, generator=generator, requires_grad=True)
    cotangent = torch.randn(4, sum(r * c for r, c in method.shapes), generator=generator)  # [classes, D]
    cell = torch.arange(4).repeat_interleave(3)
    expected = loop_over_cells(net, x, cell, cell, 4, create_graph=True)
    expected_image_grad, = torch.autograd.grad((expected * cotangent).sum(), x)
    eager = batch_cell_gradients(net, x, cell, torch.full((4,), 3), cell, create_graph=True)
    compiled = compiled_class_gradients(net, x.view(4, 3, 3, 16, 16))
    for stats in (eager, compiled):
        torch.testing.assert_close(stats, expected, rtol=1e-4, atol=1e-6)
        image_grad, = torch.autograd.grad((stats * cotangent).sum(), x)
        torch.testing.assert_close(image_grad, expected_image_grad, rtol=1e-4, atol=1e-6)


def test_cell_aligned_chunks_split_only_runs_longer_than_a_chunk():
    cell = torch.tensor([0] * 5 + [1] * 2 + [2] * 3 + [3] * 9)
    assert cell_aligned_chunks(cell, 4) == [(0, 4), (4, 7), (7, 10), (10, 14), (14, 18), (18, 19)]
    assert cell_aligned_chunks(cell, 10) == [(0, 10), (10, 19)]
    assert cell_aligned_chunks(cell, 9) == [(0, 7), (7, 10), (10, 19)]
    assert cell_aligned_chunks(cell[:0], 4) == []


@pytest.mark.parametrize("sampling", ["stratified", "grouped"])
def test_real_statistics_on_threads_match_one_call_per_cell_and_repeat_exactly(sampling):
    method, net = _net(real_chunk=5)  # several chunks, so both threads work
    generator = torch.Generator().manual_seed(3)
    y, a = torch.arange(80) % 4, torch.randint(0, 2, (80,), generator=generator)
    x = torch.randn(80, 3, 16, 16, generator=generator)
    batch = CellSampler(y, a, 4, 2, 12, sampling).sample(generator)  # grouped: cells interleaved within a class
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        stats, again = (method.real_statistics(net, x[batch.index], batch, lambda images: images) for _ in range(2))
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(stats, again)  # chunks are added in their order, whichever thread computed them
    expected = loop_over_cells(net, x[batch.index], batch.cell, batch.cell // 2, 8)
    torch.testing.assert_close(stats, expected, rtol=1e-4, atol=1e-6)


def test_real_statistics_summed_by_image_match_one_call_per_cell(monkeypatch):
    method, net = _net()
    monkeypatch.setattr(Acceleration, "sums_images", lambda self, device: True)  # the GPU path, here on the CPU
    monkeypatch.setattr(gradients, "PER_IMAGE_ELEMENTS", 3000)  # a few images at a time in the larger layers
    generator = torch.Generator().manual_seed(5)
    y, a = torch.arange(60) % 4, torch.randint(0, 2, (60,), generator=generator)
    x = torch.randn(60, 3, 16, 16, generator=generator)
    batch = CellSampler(y, a, 4, 2, 10, "grouped").sample(generator)
    stats = method.real_statistics(net, x[batch.index], batch, lambda images: images)
    expected = loop_over_cells(net, x[batch.index], batch.cell, batch.cell // 2, 8)
    torch.testing.assert_close(stats, expected, rtol=1e-4, atol=1e-6)


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


def test_distance_refuses_statistics_its_layer_shapes_do_not_cover():
    method, net = _net()
    x_syn = torch.randn(8, 3, 16, 16)
    stats = method.synthetic_statistics(net, x_syn, lambda images: images).detach()  # [classes, D]
    with pytest.raises(RuntimeError, match="call prepare"):
        method.distance(stats, torch.randn_like(stats))
    method.prepare(net, None, None, torch.Generator())
    assert float(method.distance(stats, -stats).min()) > 0
    with pytest.raises(ValueError, match="do not match"):
        method.distance(stats[:, :-1], stats[:, :-1])
    with pytest.raises(ValueError, match="do not match"):
        rowwise_cosine_distance(stats, stats, [(2, 2)])


def test_reference_loops_and_norm_check():
    assert reference_loops(10) == (10, 50) and reference_loops(3) == (5, 10) and reference_loops(100) == (100, 10)
    with pytest.raises(UserError, match="per-image norm"):
        resolve("cdigits_bg", "dc", "cobra", 2, profile="smoke", overrides={"net.norm": "batchnorm"})
