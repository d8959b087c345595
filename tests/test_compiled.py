"""Compiled passes (DM embedding, DC class gradients): same values and input gradients as eager, one compilation
for every fresh net."""
import pytest
import torch
from engine_fixtures import random_grouped_data, smoke_config
from torch._dynamo.utils import counters

from cobra_lab.accel import Acceleration, cell_means
from cobra_lab.accel.compiled import frozen_embedder
from cobra_lab.accel.compiled_gradients import compiled_class_gradients
from cobra_lab.config import identity, resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.methods import METHODS


def _frozen_net(seed: int) -> torch.nn.Module:
    method = METHODS.build("dm", smoke_config("dm", "vanilla"), (3, 16, 16), 4)
    net = method.new_net(torch.Generator().manual_seed(seed))
    method.prepare(net, None, None, torch.Generator())
    return net


def test_compiled_embedding_matches_eager_with_padding_and_input_gradients():
    net = _frozen_net(0)
    x = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(1), requires_grad=True)
    with torch.no_grad():
        torch.testing.assert_close(frozen_embedder(net, batch=8)(x), net.embed(x), rtol=1e-4, atol=1e-5)
    eager_grad, = torch.autograd.grad(net.embed(x).pow(2).sum(), x)
    compiled_grad, = torch.autograd.grad(frozen_embedder(net)(x).pow(2).sum(), x)
    torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-4, atol=1e-5)


def test_compiled_cell_means_take_a_batch_shorter_than_the_chunk_whole_and_unpadded():
    net, x = _frozen_net(0), torch.randn(6, 3, 16, 16)
    cell, sizes = torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([2, 3, 1])
    whole = cell_means(net, x, cell, sizes, Acceleration(compile=True, real_chunk=1 << 20))  # a GPU's "auto"
    torch.testing.assert_close(whole, cell_means(net, x, cell, sizes, Acceleration()), rtol=1e-4, atol=1e-5)
    assert Acceleration(compile=True).compiles() and not Acceleration().compiles()


def test_fresh_nets_of_one_architecture_share_the_compilation():
    x = torch.randn(8, 3, 16, 16)
    with torch.no_grad():
        frozen_embedder(_frozen_net(0), batch=8)(x)
        graphs = counters["stats"]["unique_graphs"]
        out = frozen_embedder(_frozen_net(1), batch=8)(x)
    assert counters["stats"]["unique_graphs"] == graphs
    torch.testing.assert_close(out, _frozen_net(1).embed(x), rtol=1e-4, atol=1e-5)


def test_fresh_nets_share_the_compiled_class_gradients():
    nets = [METHODS.build("dc", smoke_config("dc", "cobra"), (3, 16, 16), 4).new_net(torch.Generator().manual_seed(s))
            for s in (0, 1)]
    x = torch.randn(4, 3, 3, 16, 16)  # test_dc's net and shape: one compilation serves both on a fresh machine
    compiled_class_gradients(nets[0], x)
    graphs = counters["stats"]["unique_graphs"]
    first, second = compiled_class_gradients(nets[0], x), compiled_class_gradients(nets[1], x)
    assert counters["stats"]["unique_graphs"] == graphs and not torch.allclose(first, second)


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_compiled_distillation_is_deterministic_and_close_to_eager(method):
    data = random_grouped_data()
    runs = [distill(data, smoke_config(method, "cobra", ipc=3, compile=flag), progress=False)  # test_dc's shape
            for flag in (True, True, False)]
    assert torch.equal(runs[0].x, runs[1].x)
    torch.testing.assert_close(runs[0].x, runs[2].x, rtol=1e-3, atol=1e-3)


def test_compile_is_validated_and_left_out_of_run_ids():
    on = resolve("cdigits_bg", "dm", "cobra", 10, "smoke", overrides={"distill.compile": True})
    off = resolve("cdigits_bg", "dm", "cobra", 10, "smoke")
    assert off["distill"]["compile"] is False and identity(on) == identity(off)
    with pytest.raises(UserError, match="true or false"):
        resolve("cdigits_bg", "dm", "cobra", 10, "smoke", overrides={"distill.compile": "yes"})
