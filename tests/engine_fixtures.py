"""A small random grouped dataset, smoke configs and a per-cell gradient reference for engine tests (no files
needed)."""
import copy
from dataclasses import replace

import torch
import torch.nn.functional as F

from cobra_lab.accel.gradients import matched_layers
from cobra_lab.config import load_profile
from cobra_lab.data.types import GroupedData, Split
from cobra_lab.schema import typed
from cobra_lab.sections import DataConfig, RunConfig


def random_grouped_data(seed: int = 0, classes: int = 4, groups: int = 3, train: int = 240, test: int = 120,
                        size: int = 16) -> GroupedData:
    """Random images whose mean depends on class and group, so nets can learn something."""
    generator = torch.Generator().manual_seed(seed)

    def split(n):
        y = torch.arange(n) % classes
        a = torch.randint(0, groups, (n,), generator=generator)
        x = torch.randn(n, 3, size, size, generator=generator) * 0.5
        x[:, 0] += (y.float() - classes / 2).view(-1, 1, 1)
        x[:, 1] += (a.float() - groups / 2).view(-1, 1, 1)
        return Split(x, y, a, a.clone())

    return GroupedData("random", split(train), split(test), [f"c{i}" for i in range(classes)],
                       [f"g{i}" for i in range(groups)], (0.5,) * 3, (0.5,) * 3)


def smoke_dict(method: str, mode: str, ipc: int = 2, seed: int = 0, **distill) -> dict:
    """A resolved-style smoke config dict without touching the dataset registry (``distill`` keys overridden)."""
    profile = load_profile("smoke")
    config = {"dataset": "random", "data": DataConfig().as_dict(), "method": method, "mode": mode, "ipc": ipc,
              "seed": seed, "profile": "smoke", "preset": None, "device": "cpu",
              "net": dict(profile["net"], width=8), **copy.deepcopy(profile["methods"][method])}
    config["distill"].update(distill)
    return config


def smoke_config(method: str, mode: str, ipc: int = 2, seed: int = 0, **distill) -> RunConfig:
    """``smoke_dict`` as the typed config the loops, methods and evaluation read."""
    return typed(smoke_dict(method, mode, ipc, seed, **distill))


def changed(config: RunConfig, section: str, **values) -> RunConfig:
    """``config`` with ``values`` set in its section ``section`` (net, distill, eval), checked again."""
    return replace(config, **{section: replace(getattr(config, section), **values)})


def loop_over_cells(net, x, cell, labels, cells, create_graph=False):
    """Reference: each cell's mean cross-entropy gradient of the matched weights, one autograd call per cell
    ([cells, D]; zeros for an empty cell)."""
    weights = [layer.weight for layer in matched_layers(net)]
    zeros = torch.zeros(sum(w.numel() for w in weights))
    return torch.stack([torch.cat([g.flatten() for g in torch.autograd.grad(
        F.cross_entropy(net(x[cell == k]), labels[cell == k]), weights, create_graph=create_graph)])
        if (cell == k).any() else zeros for k in range(cells)])
