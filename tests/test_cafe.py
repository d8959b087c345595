"""CAFE: batched per-cell layer means equal a loop over cells, the layer-weighted distance, the discrimination term."""
import math

import pytest
import torch
from engine_fixtures import smoke_config

from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.methods import METHODS
from cobra_lab.sampling import CellSampler


def _method(**distill):
    method = METHODS.build("cafe", smoke_config("cafe", "cobra", **distill), (3, 16, 16), 4)
    net = method.new_net(torch.Generator().manual_seed(0))
    x_syn = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    method.prepare(net, x_syn, torch.arange(4).repeat_interleave(2), torch.Generator())
    return method, net, x_syn


@pytest.mark.parametrize("sampling", ["pooled", "stratified", "grouped"])
def test_real_statistics_match_a_loop_over_cells(sampling):
    method, net, _ = _method(real_chunk=5)  # several chunks, a cell split across them
    generator = torch.Generator().manual_seed(3)
    y, a = torch.arange(80) % 4, torch.randint(0, 3, (80,), generator=generator)
    x = torch.randn(80, 3, 16, 16, generator=generator)
    batch = CellSampler(y, a, 4, 3, 12, sampling).sample(generator)
    stats = method.real_statistics(net, x[batch.index], batch, lambda images: images)  # [K, D]
    cell, cells = batch.cell, batch.counts.numel()
    with torch.no_grad():
        expected = torch.stack([  # one forward per cell, each tap's mean over the cell's images
            torch.cat([tap.mean(0).flatten() for tap in net.taps(x[batch.index][cell == k])])
            if (cell == k).any() else torch.zeros(stats.shape[1]) for k in range(cells)])
    torch.testing.assert_close(stats, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(method.real_embeddings, net.embed(x[batch.index]).detach())
    assert torch.equal(method.real_labels, cell // batch.counts.shape[1])


def test_distance_is_the_layer_weighted_summed_squared_error():
    method, net, x_syn = _method(layer_weights=[1.0, 2.0, 3.0, 4.0, 5.0])
    with torch.no_grad():
        taps = net.taps(x_syn[:2])
        other = [tap + torch.randn_like(tap) for tap in taps]
    u = torch.cat([tap.flatten(1) for tap in taps], dim=1)  # [2, D]
    v = torch.cat([tap.flatten(1) for tap in other], dim=1)
    per_layer = [(a - b).pow(2).flatten(1).sum(1) for a, b in zip(taps, other)]  # [2] per tap
    # the embedding is the last map flattened: its weight (5) adds to the map's (4)
    expected = 1 * per_layer[0] + 2 * per_layer[1] + 3 * per_layer[2] + (4 + 5) * per_layer[3]
    torch.testing.assert_close(method.distance(u, v), expected)
    averaged, _, _ = _method(layer_weights=[1.0, 2.0, 3.0, 4.0, 5.0], average_classes=True)
    torch.testing.assert_close(averaged.distance(u, v), expected / 4)


def test_discrimination_term_by_hand():
    method, _, _ = _method(discrimination_weight=0.5)
    method.real_embeddings = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])  # [R=3, E=2]
    method.real_labels = torch.tensor([0, 1, 1])
    syn = torch.tensor([[9.0, 1.0, 0.0], [9.0, 0.0, 1.0]])  # [C=2, D=3]: the last E columns are the prototypes
    # logits e_i . s_c: image 0 -> (1, 0), image 1 -> (0, 2), image 2 -> (1, 1)
    by_hand = 0.5 * ((math.log(math.e + 1) - 1) + (math.log(1 + math.e ** 2) - 2) + (math.log(2 * math.e) - 1))
    assert float(method.extra_loss(None, None, syn)) == pytest.approx(by_hand, rel=1e-6)
    off, _, _ = _method(discrimination_weight=0.0)
    assert off.extra_loss(None, None, syn) is None


def test_discrimination_gradient_reaches_the_synthetic_images():
    method, net, x_syn = _method()
    generator = torch.Generator().manual_seed(4)
    y, a = torch.arange(40) % 4, torch.randint(0, 3, (40,), generator=generator)
    x = torch.randn(40, 3, 16, 16, generator=generator)
    batch = CellSampler(y, a, 4, 3, 8, "stratified").sample(generator)
    method.real_statistics(net, x[batch.index], batch, lambda images: images)
    x_syn.requires_grad_(True)
    syn = method.synthetic_statistics(net, x_syn, lambda images: images)  # [4, D]
    method.extra_loss(net, batch, syn).backward()
    assert x_syn.grad is not None and x_syn.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in net.parameters())  # the net is frozen while images learn


def test_between_rounds_trains_the_net_and_freezes_it_again():
    method, net, x_syn = _method()
    before = [parameter.clone() for parameter in net.parameters()]
    method.between_rounds(net, x_syn, torch.arange(4).repeat_interleave(2), torch.Generator().manual_seed(0))
    assert any(not torch.equal(p, q) for p, q in zip(before, net.parameters()))
    assert not any(parameter.requires_grad for parameter in net.parameters())


def test_layer_weights_and_arch_are_checked():
    with pytest.raises(UserError, match="layer_weights needs net.depth \\+ 2 = 5 weights"):
        resolve("cdigits_bg", "cafe", "cobra", 2, profile="smoke", overrides={"distill.layer_weights": [1, 1]})
    with pytest.raises(UserError, match="distills with net.arch convnet"):
        resolve("cdigits_bg", "cafe", "cobra", 2, profile="smoke", overrides={"net.arch": "alexnet"})
    with pytest.raises(UserError, match="per-image norm"):
        resolve("cdigits_bg", "cafe", "cobra", 2, profile="smoke", overrides={"net.norm": "batchnorm"})


@pytest.mark.parametrize("key, value, message", [
    ("distill.layer_weights", "heavy", "distill.layer_weights must be a list of layer weights"),
    ("distill.layer_weights", [1, 1, -1, 1, 1], "distill.layer_weights must be in \\[0, inf\\)"),
    ("distill.discrimination_weight", -0.1, "distill.discrimination_weight must be in \\[0, inf\\)"),
    ("distill.lr_img_halve_at", [5, 3], "distill.lr_img_halve_at must be increasing iteration numbers"),
    ("distill.lr_img_halve_at", 5, "distill.lr_img_halve_at must be a list of iteration numbers"),
])
def test_bad_cafe_options_are_one_line_errors(key, value, message):
    with pytest.raises(UserError, match=message):
        resolve("cdigits_bg", "cafe", "cobra", 2, profile="smoke", overrides={key: value})


def test_cobra_official_preset_sets_the_released_cobra_branch():
    distill = resolve("cdigits_bg", "cafe", "cobra", 2, profile="smoke", preset="cobra_official")["distill"]
    assert distill["layer_weights"] == [1.0, 1.0, 0.1, 0.1, 1.0]
    assert distill["discrimination_weight"] == 0.0 and distill["average_classes"] is True
