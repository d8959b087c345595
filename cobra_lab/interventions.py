"""Fairness interventions that act around the distillation loop rather than inside it (the paper's Appendix N)."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .data.types import GroupedData
from .methods import Method
from .nets import NetFactory
from .sections import RunConfig
from .training import group_balanced_weights, train_epochs


def fair_extractor(method: Method, data: GroupedData, epochs: int, seed: int, device: torch.device) -> nn.Module:
    """RF of the paper's Appendix N: the method's net pre-trained on the real train set with group-balanced
    cross-entropy (``group_balanced_weights`` of the observed groups), used by the distiller in place of fresh
    random nets. Seeded on its own, so a resumed run rebuilds the same extractor."""
    generator = torch.Generator().manual_seed(seed * 7919 + 17)
    net = method.new_net(generator).to(device)
    train = data.train
    train_epochs(net, train.x.to(device), train.y.to(device), epochs, lr=0.01, generator=generator, batch=256,
                 momentum=0.9, weight_decay=5e-4, sample_weight=group_balanced_weights(train.y, train.a_observed)
                 .to(device))
    return net.eval()


def net_factory(method: Method, data: GroupedData, config: RunConfig, device: torch.device) -> NetFactory:
    """The networks the distiller matches statistics on, as ``distill.extractor`` says: the method's fresh random
    nets, or copies of one fair extractor trained here (which draw nothing from the generator)."""
    if config.distill.extractor == "random":
        return method.new_net
    extractor = fair_extractor(method, data, config.distill.extractor_epochs, config.seed, device)
    return lambda generator: copy.deepcopy(extractor)
