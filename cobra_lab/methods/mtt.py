"""Matching training trajectories (MTT): the student unrolled on the synthetic set and its distance to an expert.

A student network runs on one flat parameter vector (``torch.func.functional_call``): it starts from an expert
checkpoint at epoch t, takes ``syn_steps`` SGD steps on the synthetic images with a learnable learning rate, and
its end point is compared with the expert's checkpoint at epoch t + M, normalised by how far the expert itself
moved. The modes only change the start and target points: vanilla takes one expert trained on the whole train
split; COBRA the uniform mean over groups of the group experts' checkpoints (same expert index, so same
initialisation); ``fairdd`` is our per-group analogue (the paper has none): the student starts from the same
barycentric point and the loss is the mean over groups of each group's normalised distance.
The loop that drives it (seeded, checkpointed) is the trajectory-matching loop of ``cobra_lab.loops``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import DSA
from ..errors import UserError
from ..nets import unflatten
from ..options import Section, boolean, dsa_strategy, fraction_below_one, integer, one_of, option, optional, positive
from ..sections import RunConfig
from .base import TrajectoryMethod
from .registry import METHODS


def unroll(net: nn.Module, start: torch.Tensor, x_syn: torch.Tensor, y_syn: torch.Tensor, lr: torch.Tensor,
           steps: int, batch: int | None, generator: torch.Generator,
           augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None) -> torch.Tensor:
    """The student's parameters [P] after ``steps`` SGD steps from ``start`` [P] on x_syn [S, C, H, W], y_syn [S]
    at learning rate ``lr`` (a scalar tensor), differentiable w.r.t. the images and ``lr``.

    Each step takes the next ``batch`` images of a random permutation of the synthetic set (all of them when
    ``batch`` is None) and augments them per image; ``net`` only lends its architecture.
    """
    theta = start.detach().requires_grad_(True)
    order = torch.empty(0, dtype=torch.long)
    batch = batch or x_syn.shape[0]
    for _ in range(steps):
        if order.numel() < batch:
            order = torch.cat([order, torch.randperm(x_syn.shape[0], generator=generator)])
        rows, order = order[:batch].to(x_syn.device), order[batch:]
        images = x_syn[rows] if augment is None else augment(x_syn[rows], generator)
        loss = F.cross_entropy(torch.func.functional_call(net, unflatten(net, theta), (images,)), y_syn[rows])
        gradient = torch.autograd.grad(loss, theta, create_graph=True)[0]  # [P]
        theta = theta - lr * gradient
    return theta


def normalised_distance(end: torch.Tensor, target: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """||end - target||^2 / ||start - target||^2 over the last dim: how much of the expert's move the student
    missed. end [..., P], target [..., P], start [..., P] -> [...]."""
    return (end - target).pow(2).sum(-1) / (start - target).pow(2).sum(-1).clamp_min(1e-12)


def barycentric(checkpoints: torch.Tensor) -> torch.Tensor:
    """COBRA's point: the uniform mean over groups of checkpoints [G, ..., P] -> [..., P]."""
    return checkpoints.mean(0)


def matching_loss(mode: str, end: torch.Tensor, starts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The loss of the student's end point end [P] given the experts' starts and targets [G, P] (G = 1 for
    vanilla): vanilla and COBRA compare with the barycentric target, normalised by the barycentric move;
    ``fairdd`` averages each group's own normalised distance."""
    if mode == "fairdd":
        return normalised_distance(end, targets, starts).mean()
    return normalised_distance(end, barycentric(targets), barycentric(starts))


@dataclass(frozen=True, kw_only=True)
class MTTDistill(Section):
    """MTT's options: expert trajectories (trained once per data, net and these ``expert_*`` settings, shared by
    every run that needs them) and the matching of a student unrolled on the synthetic set against them."""

    name: ClassVar[str] = "distill"
    iterations: int = option(integer(1))
    syn_steps: int = option(integer(1))  # N: student steps on the synthetic set per iteration
    expert_epochs: int = option(integer(1))  # M: the target is the expert checkpoint M epochs after the start
    max_start_epoch: int = option(integer(1))  # the start epoch t is drawn from 0 .. max_start_epoch - 1
    lr_img: float = option(positive)
    lr_lr: float = option(positive)  # the learning rate of the student's learnable learning rate
    lr_teacher: float = option(positive)  # the student's learning rate at the start
    momentum: float = option(fraction_below_one)  # of both optimisers (images, student learning rate)
    batch_syn: int | None = option(optional(integer(1)))  # synthetic images per student step (null: all)
    init: str = option(one_of(("real", "noise")))
    dsa: bool = option(boolean)
    dsa_strategy: str = option(dsa_strategy)
    experts: int = option(integer(1))  # expert trajectories per set (per group for cobra) drawn from
    expert_train_epochs: int = option(integer(1))
    expert_lr: float = option(positive)
    expert_batch: int = option(integer(1))
    expert_dsa: bool = option(boolean)
    expert_per_class: int | None = option(optional(integer(1)))  # a seeded training subset (null: all)
    expert_balance: str = option(one_of(("none", "classes")))  # "classes": each class weighs the same per expert


@METHODS.register("mtt")
class MTT(TrajectoryMethod):
    """MTT: match the parameters a student reaches on the synthetic set to an expert trajectory's."""

    name = "mtt"
    norms = ("instancenorm", "layernorm", "groupnorm", "none")  # no running statistics: the student is its params
    section = MTTDistill

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        """MTT's rules: its modes, and targets that lie within the expert trajectories."""
        settings = config.distill
        if config.mode not in ("vanilla", "cobra", "fairdd"):
            raise UserError(f"method mtt has no mode {config.mode}: use vanilla, cobra or fairdd (our per-group "
                            f"analogue; the paper has no FairDD-MTT)")
        last = settings.max_start_epoch - 1 + settings.expert_epochs
        if last > settings.expert_train_epochs:
            raise UserError(f"distill.max_start_epoch - 1 + distill.expert_epochs = {last} is past the experts' "
                            f"{settings.expert_train_epochs} epochs (distill.expert_train_epochs)")

    def bank_sets(self, trajectory: torch.Tensor, mode: str) -> torch.Tensor:
        """Vanilla: the whole-split expert; COBRA: the groups' barycentric trajectory (one set); ``fairdd``: every
        group's. trajectory [sets, epochs + 1, P] -> [sets', epochs + 1, P]."""
        return barycentric(trajectory).unsqueeze(0) if mode == "cobra" else trajectory

    def last_epoch(self) -> int:
        return self.settings.max_start_epoch - 1 + self.settings.expert_epochs

    def segment(self, bank: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """An expert index and a start epoch t < max_start_epoch, drawn in that order: the checkpoints at t and at
        t + expert_epochs, each [sets, P]."""
        index = int(torch.randint(bank.shape[0], (1,), generator=generator))
        epoch = int(torch.randint(self.settings.max_start_epoch, (1,), generator=generator))
        return bank[index, :, epoch], bank[index, :, epoch + self.settings.expert_epochs]

    def unroll(self, student: nn.Module, starts: torch.Tensor, x_syn: torch.Tensor, y_syn: torch.Tensor,
               lr: torch.Tensor, generator: torch.Generator, dsa: DSA | None) -> torch.Tensor:
        """``syn_steps`` student steps from the barycentric start, ``batch_syn`` images a step."""
        return unroll(student, barycentric(starts), x_syn, y_syn, lr, self.settings.syn_steps, self.settings.batch_syn,
                      generator, dsa)

    def matching_loss(self, mode: str, end: torch.Tensor, starts: torch.Tensor,
                      targets: torch.Tensor) -> torch.Tensor:
        return matching_loss(mode, end, starts, targets)
