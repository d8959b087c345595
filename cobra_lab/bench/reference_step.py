"""A distillation step written the way the reference code loops (per class, then per group), for comparison with
the engine's batched step on the same net, synthetic set and real-image budget."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..accel.gradients import matched_layers
from ..accel.pooling import MeanPool2
from ..data.types import GroupedData
from .step_setup import Setup


def with_reference_pooling(net: nn.Module) -> None:
    """Swap the net's ``MeanPool2`` layers for the reference's ``nn.AvgPool2d(2)`` (the same function), in place."""
    for module in net.modules():
        for name, child in list(module.named_children()):
            if isinstance(child, MeanPool2):
                setattr(module, name, nn.AvgPool2d(2))


class ReferenceStep:
    """A step written like the reference code: a loop over classes, then over the groups in each class batch.

    Per class: ``real_per_class`` random images of the class (unstratified), one DSA draw for that class's
    real and synthetic images (IDC: the class's decoded images), one real forward. DM: per-group means sliced
    from that forward. DC and IDC: FairDD takes one forward per group ([COB]), COBRA one forward and one
    ``autograd.grad`` per group with ``retain_graph``. CAFE: per-group layer means sliced from one forward of
    every layer, then the discrimination term over every class's real embeddings. The net is the engine's with
    the reference's ``nn.AvgPool2d``. The distance is the engine's (DM squared L2, DC and IDC per-row cosine,
    CAFE layer-weighted squared error); FairDD terms are summed.
    """

    def __init__(self, setup: Setup, data: GroupedData, mode_name: str) -> None:
        with_reference_pooling(setup.net)
        self.setup, self.mode = setup, mode_name
        self.rows = [torch.nonzero(data.train.y == c).flatten() for c in range(data.num_classes)]
        self.groups = data.train.a_observed.to(setup.train_x.device)  # [N]
        self.ipc = setup.x_syn.shape[0] // data.num_classes
        self.params = list(setup.net.parameters())
        weights = [layer.weight for layer in matched_layers(setup.net)]
        self.matched = [i for i, p in enumerate(self.params) if any(p is w for w in weights)]
        self.class_loss = {"dm": self.dm_loss, "dc": self.dc_loss, "idc": self.dc_loss,
                           "cafe": self.cafe_loss}[setup.method.name]
        self.embeddings: list[tuple[torch.Tensor, torch.Tensor]] = []  # CAFE: per class (real [R, E], syn [E])

    def __call__(self) -> torch.Tensor:
        """One image update; returns the loss, detached."""
        s = self.setup
        loss = s.x_syn.new_zeros(())
        for label, rows in enumerate(self.rows):
            index = rows[torch.randperm(rows.numel(), generator=s.generator)[:s.real_per_class]]  # [R]
            index = index.to(s.train_x.device)
            augment = self.class_augment()
            x_real = augment(s.train_x[index])  # [R, C, H, W]
            stored = s.x_syn[label * self.ipc:(label + 1) * self.ipc]  # [ipc, C, H, W]
            x_syn = augment(s.method.decode(stored))  # [ipc * k, C, H, W]: IDC decodes k pieces per image
            loss = loss + self.class_loss(x_real, self.groups[index], x_syn, label)
        if self.embeddings:
            loss = loss + self.discrimination_loss()
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        s.optimizer.step()
        return loss.detach()

    def class_augment(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """One Siamese DSA draw for one class (identity without DSA)."""
        if self.setup.dsa is None:
            return lambda images: images
        draw = self.setup.dsa.draw(self.setup.generator, n=1, size=self.setup.x_syn.shape[-1])
        return lambda images: self.setup.dsa.apply(images, draw)

    def mode_loss(self, real: torch.Tensor, a_real: torch.Tensor, syn: torch.Tensor) -> torch.Tensor:
        """One class's loss from its real per-image statistics [R, D] (groups a_real [R]) and synthetic mean [D]:
        the pooled mean (vanilla), one distance per group mean summed (FairDD), or the groups' mean (COBRA)."""
        distance = self.setup.method.distance
        if self.mode == "vanilla":
            return distance(real.mean(0), syn)
        means = torch.stack([real[a_real == g].mean(0) for g in a_real.unique()])  # [G_c, D]
        if self.mode == "fairdd":
            return distance(means, syn.expand_as(means)).sum()
        return distance(means.mean(0), syn)

    def dm_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """DM / FairDD / COBRA loss of one class: one real forward, per-group means by slicing."""
        net = self.setup.net
        with torch.no_grad():
            real = net.embed(x_real)  # [R, D]
        syn = net.embed(x_syn).mean(0)  # [D]
        return self.mode_loss(real, a_real, syn)

    def cafe_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """CAFE / FairDD / COBRA loss of one class: one real forward of every layer, per-group layer means by
        slicing; keeps the class's real embeddings and synthetic embedding mean for the discrimination term."""
        net = self.setup.net
        with torch.no_grad():
            taps = [tap.flatten(1) for tap in net.taps(x_real)]  # [[R, D_k] per layer]
        real = torch.cat(taps, dim=1)  # [R, D]
        syn = torch.cat([tap.flatten(1).mean(0) for tap in net.taps(x_syn)])  # [D]
        self.embeddings.append((taps[-1], syn[-taps[-1].shape[1]:]))
        return self.mode_loss(real, a_real, syn)

    def discrimination_loss(self) -> torch.Tensor:
        """CAFE's discrimination term: every class's real embeddings scored against the synthetic class means of
        the embedding, cross-entropy summed, times the method's weight; empties the kept embeddings."""
        real = torch.cat([embeddings for embeddings, _ in self.embeddings])  # [C * R, E]
        labels = torch.cat([torch.full((embeddings.shape[0],), label, device=real.device)
                            for label, (embeddings, _) in enumerate(self.embeddings)])  # [C * R]
        prototypes = torch.stack([syn for _, syn in self.embeddings])  # [C, E]
        self.embeddings = []
        weight = self.setup.method.settings.discrimination_weight
        return weight * F.cross_entropy(real @ prototypes.t(), labels, reduction="sum")

    def dc_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """DC / FairDD / COBRA loss of one class: parameter gradients with ``torch.autograd.grad``."""
        net, distance = self.setup.net, self.setup.method.distance
        syn = self.weight_grad(net(x_syn), label, create_graph=True)  # [D]
        if self.mode == "vanilla":
            return distance(self.weight_grad(net(x_real), label).detach(), syn)
        present = a_real.unique()
        if self.mode == "fairdd":
            return sum(distance(self.weight_grad(net(x_real[a_real == g]), label).detach(), syn) for g in present)
        logits = net(x_real)  # [R, classes]
        per_group = [self.weight_grad(logits[a_real == g], label, retain_graph=True).detach() for g in present]
        return distance(torch.stack(per_group).mean(0), syn)

    def weight_grad(self, logits: torch.Tensor, label: int, create_graph: bool = False,
                    retain_graph: bool | None = None) -> torch.Tensor:
        """Gradient of the mean cross-entropy w.r.t. every parameter; the matched weights, flattened: [D]."""
        target = torch.full((logits.shape[0],), label, device=logits.device)
        grads = torch.autograd.grad(F.cross_entropy(logits, target), self.params, create_graph=create_graph,
                                    retain_graph=retain_graph)
        return torch.cat([grads[i].flatten() for i in self.matched])
