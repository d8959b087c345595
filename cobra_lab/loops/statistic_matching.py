"""The statistic-matching loop (DM, DC, IDC, CAFE): each iteration takes a fresh net, and each image step matches
the method's per-class statistic of the synthetic images to the mode's target formed from the real per-cell ones."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..augment import DSA
from ..data.types import GroupedData
from ..interventions import net_factory
from ..methods import StatisticMethod
from ..methods.base import DistillConfig
from ..modes import MODES, Mode
from ..nets import NetFactory
from ..sampling import CellSampler
from ..sections import RunConfig
from ..synset import SynSet
from .registry import LOOPS
from .skeleton import IterationHook, Skeleton

DIVERGED_HINT = "try a smaller distill.lr_img or another distill.discrepancy"


def image_lr(settings: DistillConfig, iteration: int) -> float:
    """The images' learning rate at ``iteration`` (from 0): ``lr_img`` halved at each of ``lr_img_halve_at``
    reached, a pure function of the iteration so a resumed run follows the same schedule."""
    halvings = sum(iteration >= step for step in settings.lr_img_halve_at or [])
    return settings.lr_img * 0.5 ** halvings


def image_step(method: StatisticMethod, mode: Mode, net: nn.Module, x_syn: torch.Tensor,
               optimizer: torch.optim.Optimizer, sampler: CellSampler, dsa: DSA | None, train_x: torch.Tensor,
               generator: torch.Generator) -> torch.Tensor:
    """One update of the synthetic images x_syn [classes * ipc, C, H, W]; returns the loss, detached.

    Samples a real batch of train_x [N, C, H, W], draws one DSA op shared by every real and synthetic
    image, computes both statistics, the mode's loss plus the method's ``extra_loss``, and takes one optimiser
    step.
    """
    batch = sampler.sample(generator)
    if dsa is not None:
        draw = dsa.draw(generator, n=1, size=x_syn.shape[-1])
        augment = lambda images: dsa.apply(images, draw)  # noqa: E731
    else:
        augment = lambda images: images  # noqa: E731
    phi = method.real_statistics(net, train_x[batch.index], batch, augment)  # [K, D]
    phi = phi.view(*batch.counts.shape, -1)  # [C, G, D]
    syn = method.synthetic_statistics(net, x_syn, augment)  # [C, D]
    loss = mode.loss(phi, batch.counts, syn, method.distance, population=batch.population)
    extra = method.extra_loss(net, batch, syn)
    if extra is not None:
        loss = loss + extra
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


@LOOPS.register(StatisticMethod.kind)
def match_statistics(data: GroupedData, config: RunConfig, method: StatisticMethod, device: torch.device,
                     store_root: Path, checkpoint: Path | None = None, progress: bool = True,
                     log: Callable[[str], None] | None = None, on_iteration: IterationHook | None = None,
                     new_net: NetFactory | None = None) -> SynSet:
    """Distill ``config.ipc`` images per class by statistic matching. The nets it matches on come from
    ``new_net(generator)``, by default ``interventions.net_factory``'s (the method's fresh random nets, or copies of
    a fair extractor with ``distill.extractor: fair``); ``store_root`` is unused (nothing is kept beside the runs)."""
    settings = config.distill
    new_net = new_net or net_factory(method, data, config, device)
    skeleton = Skeleton(data, config, device, f"distill {config.method}/{config.mode}")
    mode = MODES.build(config.mode).configured(settings)
    sampler = CellSampler(data.train.y, data.train.a_observed, data.num_classes, data.num_groups,
                          settings.real_per_class, mode.sampling, device)
    dsa = method.augmentation()
    x_syn, y_syn, generator = skeleton.x, skeleton.y, skeleton.generator
    optimizer = torch.optim.SGD([x_syn], lr=settings.lr_img, momentum=settings.momentum)
    train_x = data.train.x.to(device)

    def step(iteration: int) -> torch.Tensor:
        for group in optimizer.param_groups:
            group["lr"] = image_lr(settings, iteration)
        net = new_net(generator).to(device, non_blocking=True)  # no wait for the device's queue
        method.prepare(net, x_syn, y_syn, generator)
        for round_index in range(method.rounds()):
            loss = image_step(method, mode, net, x_syn, optimizer, sampler, dsa, train_x, generator)
            if round_index < method.rounds() - 1:
                method.between_rounds(net, x_syn, y_syn, generator)
        return loss.view(1)  # [1]

    return skeleton.run(optimizer, step, DIVERGED_HINT, checkpoint=checkpoint, progress=progress, log=log,
                        on_iteration=on_iteration)
