"""The trajectory-matching loop (MTT): each iteration draws a segment of the stored expert trajectories, unrolls a
student on the synthetic set from its start and moves the images, and the student's learning rate, so that the
student lands near the segment's end.

It matches no per-class statistic of a real batch (its real side is a pair of stored expert checkpoints), it
learns the student's learning rate beside the images, and its student runs many steps per iteration on flat
parameters; what it shares with the statistic loop (seeding, resume, progress, divergence checks, the hook) is
the skeleton's.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..data.types import GroupedData
from ..methods import TrajectoryMethod
from ..nets import NetFactory
from ..sections import RunConfig
from ..synset import SynSet
from ..trajectories import Experts
from .registry import LOOPS
from .skeleton import IterationHook, Skeleton

DIVERGED_HINT = "try a smaller distill.lr_img or lr_lr"


def expert_bank(experts: Experts, data: GroupedData, config: RunConfig, method: TrajectoryMethod,
                new_net: NetFactory, device: torch.device, progress: bool,
                log: Callable[[str], None] | None) -> torch.Tensor:
    """The checkpoints the loop draws from, [experts, sets, epochs used, P]: each expert index's trajectories of the
    sets ``config.mode`` trains, as the method matches them (``TrajectoryMethod.bank_sets``)."""
    bank = []
    for trajectory in experts.trajectories(data, config.mode, config.distill.experts, new_net, device, progress,
                                           log):  # [sets, E + 1, P]
        bank.append(method.bank_sets(trajectory, config.mode)[:, :method.last_epoch() + 1])
    return torch.stack(bank).to(device)


@LOOPS.register(TrajectoryMethod.kind)
def match_trajectories(data: GroupedData, config: RunConfig, method: TrajectoryMethod, device: torch.device,
                       store_root: Path, checkpoint: Path | None = None, progress: bool = True,
                       log: Callable[[str], None] | None = None,
                       on_iteration: IterationHook | None = None) -> SynSet:
    """Distill ``config.ipc`` images per class by trajectory matching, from the expert trajectories stored under
    ``store_root`` (trained there first when missing)."""
    settings = config.distill
    began_experts = time.time()
    bank = expert_bank(Experts(config, store_root), data, config, method, method.new_net, device, progress, log)
    if log is not None:
        log(f"expert trajectories ready in {time.time() - began_experts:.1f} s: {tuple(bank.shape)} checkpoints")
    skeleton = Skeleton(data, config, device, f"distill {config.method}/{config.mode}")
    x_syn, y_syn, generator = skeleton.x, skeleton.y, skeleton.generator
    syn_lr = torch.tensor(settings.lr_teacher, device=device).requires_grad_(True)
    optimizer = torch.optim.SGD([{"params": [x_syn], "lr": settings.lr_img},
                                 {"params": [syn_lr], "lr": settings.lr_lr}], momentum=settings.momentum)
    student = method.new_net(torch.Generator().manual_seed(0)).to(device)  # lends its architecture only
    dsa = method.augmentation()

    def step(iteration: int) -> torch.Tensor:
        starts, targets = method.segment(bank, generator)  # [sets, P] each
        end = method.unroll(student, starts, x_syn, y_syn, syn_lr, generator, dsa)  # [P]
        loss = method.matching_loss(config.mode, end, starts, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return torch.stack([loss.detach(), syn_lr.detach()])  # [2]

    synset = skeleton.run(optimizer, step, DIVERGED_HINT, readings=("loss", "student lr"), learned={"lr": syn_lr},
                          checkpoint=checkpoint, progress=progress, log=log, on_iteration=on_iteration)
    if log is not None:
        log(f"learned student lr {float(syn_lr.detach()):.4g}")
    return synset
