"""What one timed distillation step starts from: a profile's method settings at the benchmark's sizes, a fresh
net prepared as the statistic loop prepares it, the synthetic images and their optimiser."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..augment import DSA
from ..config import load_profile
from ..data.types import GroupedData
from ..methods import METHODS, StatisticMethod
from ..sections import DataConfig, EvalConfig, NetConfig, RunConfig
from ..synset import initial_set


def step_config(method: str, profile: str, dataset: str, ipc: int, width: int | None, real_per_class: int,
                compile: bool, seed: int, device: str) -> RunConfig:
    """``profile``'s settings for ``method`` (its own net where the profile gives the method one), at the
    benchmark's IPC and real budget, compiled or not; ``width``, when given, replaces every method's net width."""
    settings = load_profile(profile)
    section = settings["methods"][method]
    distill = METHODS.get(method).section.build({**section["distill"], "real_per_class": real_per_class,
                                                 "compile": compile})
    profile_net = section["net"] if "net" in section else settings["net"]  # as config.resolve reads a profile
    net = NetConfig.build({**profile_net, **({"width": width} if width else {})})
    return RunConfig(dataset=dataset, data=DataConfig(), method=method, mode=None, ipc=ipc, seed=seed,
                     profile=profile, preset=None, device=device, net=net, distill=distill,
                     eval=EvalConfig.build(section["eval"]))


@dataclass
class Setup:
    """What one step needs: the method, its prepared net, the synthetic images and their optimiser."""

    method: StatisticMethod
    net: nn.Module
    x_syn: torch.Tensor  # [CLASSES * ipc, C, H, W] leaf being distilled
    optimizer: torch.optim.Optimizer
    dsa: DSA | None
    train_x: torch.Tensor  # [N, C, H, W] on the device
    generator: torch.Generator

    @property
    def real_per_class(self) -> int:
        """Real images per class per step (the config's ``real_per_class``)."""
        return self.method.settings.real_per_class


def make_setup(data: GroupedData, train_x: torch.Tensor, config: RunConfig, device: torch.device) -> Setup:
    """Initial images, a fresh net prepared as the distill loop does, and the optimiser; same seed, same start."""
    generator = torch.Generator().manual_seed(config.seed)
    method = METHODS.build(config.method, config, data.image_shape, data.num_classes)
    start = initial_set(data, config.ipc, config.distill.init, generator)
    x_syn = start.x.to(device).requires_grad_(True)
    net = method.new_net(generator).to(device)
    method.prepare(net, x_syn, start.y.to(device), generator)
    optimizer = torch.optim.SGD([x_syn], lr=config.distill.lr_img, momentum=config.distill.momentum)
    return Setup(method, net, x_syn, optimizer, method.augmentation(), train_x, generator)
