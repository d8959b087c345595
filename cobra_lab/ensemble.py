"""Several nets of one architecture trained as one: stacked parameters run under ``torch.func.vmap``.

Each net keeps its own initial weights, data order and augmentation draws (its own ``torch.Generator``), so
net r of an ensemble follows the same arithmetic as net r trained alone, up to float rounding (vmap turns
R convolutions into one grouped convolution). One step of R small nets is one set of bigger kernels, which
pays where a net's batch is too small to keep the device busy (a synthetic set of a few hundred images).
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .accel.compiled import compilation_failed, compile_function, compiled_for, compiled_or_eager
from .training import sgd_epochs


def can_stack(net: nn.Module) -> bool:
    """Whether nets like ``net`` can train stacked: not with buffers (BatchNorm's running statistics are
    updated in place, which vmap cannot batch), nor with dropout (its masks would come from the global RNG)."""
    return not any(True for _ in net.buffers()) and not any(isinstance(m, nn.Dropout) for m in net.modules())


class NetEnsemble:
    """R nets of one architecture as stacked parameters ([R, ...] each), called on [R, B, ...] batches.

    ``vectorize``: one vmapped pass (grouped convolutions), else the members' passes in turn inside one
    function (on the CPU oneDNN's grouped convolutions were slower than separate ones). ``compile``: the
    training loss (forward and backward) as one compiled graph for all members, built once per architecture.
    """

    def __init__(self, nets: list[nn.Module], vectorize: bool, compile: bool = False) -> None:
        if not all(can_stack(net) for net in nets):
            raise ValueError("nets with buffers or dropout cannot train stacked")
        params, _ = stack_module_state(nets)  # name -> [R, ...] leaf tensors that require grad
        self.params = params
        self.skeleton = copy.deepcopy(nets[0]).to("meta")
        self.size = len(nets)
        self.vectorize = vectorize
        self._eager = functools.partial(_members_loss, self.skeleton, vectorize)
        self._compiled = compiled_for(nets[0], f"ensemble-loss-{self.size}-{vectorize}",
                                      lambda _: compile_function(self._eager)) if compile else None

    def parameters(self) -> list[torch.Tensor]:
        """The stacked parameters, for an optimiser (one update of each is R nets' updates)."""
        return list(self.params.values())

    def loss(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Sum over members of each one's mean cross-entropy on its own batch x [R, B, C, H, W], y [R, B]
        (weighted by ``weight`` [R, B] when given), so each member's gradient is its own loss's."""
        def eager() -> torch.Tensor:
            return self._eager(self.params, x, y, weight)

        if self._compiled is None or compilation_failed():
            return eager()
        return compiled_or_eager(lambda: self._compiled(self.params, x, y, weight), eager)

    def shared(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [R, B, K] of every net on one batch x [B, C, H, W]."""
        return _members_logits(self.skeleton, self.vectorize, self.params, x.expand(self.size, *x.shape))

    def train(self, mode: bool = True) -> None:
        """Train or eval mode for every net (the skeleton's modules)."""
        self.skeleton.train(mode)

    def net(self, index: int) -> nn.Module:
        """Net ``index`` as an ordinary module (a copy of its weights)."""
        net = copy.deepcopy(self.skeleton).to_empty(device=next(iter(self.params.values())).device)
        net.load_state_dict({name: value[index].detach() for name, value in self.params.items()})
        return net


def _members_logits(skeleton: nn.Module, vectorize: bool, params: dict[str, torch.Tensor],
                    x: torch.Tensor) -> torch.Tensor:
    """Logits [R, B, K] of the stacked members on their batches x [R, B, C, H, W]."""
    if vectorize:
        return vmap(lambda member, images: functional_call(skeleton, member, (images,)))(params, x)
    return torch.stack([functional_call(skeleton, {name: value[r] for name, value in params.items()}, (x[r],))
                        for r in range(x.shape[0])])


def _members_loss(skeleton: nn.Module, vectorize: bool, params: dict[str, torch.Tensor], x: torch.Tensor,
                  y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """``NetEnsemble.loss`` as a function of the stacked parameters (what is compiled)."""
    logits = _members_logits(skeleton, vectorize, params, x)  # [R, B, K]
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape)  # [R, B]
    if weight is None:
        return loss.mean(1).sum()
    return ((weight * loss).sum(1) / weight.sum(1)).sum()


def train_ensemble_epochs(ensemble: NetEnsemble, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
                          generators: list[torch.Generator], batch: int = 256, momentum: float = 0.0,
                          weight_decay: float = 0.0, decay_at: int | None = None,
                          augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                          sample_weight: torch.Tensor | None = None,
                          on_epoch: Callable[[int], None] | None = None) -> None:
    """``training.train_epochs`` for every net of ``ensemble`` at once, net r drawing from ``generators[r]``.

    Each net shuffles x [N, C, H, W] with its own generator and augments its own batch with it, in the order
    a lone net would; the loss is the sum of the nets' losses, so each net gets its own gradient. SGD acts on
    every element alone, so stacking changes none of its arithmetic.
    """
    if len(generators) != ensemble.size:
        raise ValueError(f"{ensemble.size} nets need {ensemble.size} generators, got {len(generators)}")
    ensemble.train()
    for epoch, optimizer in sgd_epochs(ensemble.parameters(), epochs, lr, momentum, weight_decay, decay_at):
        orders = torch.stack([torch.randperm(x.shape[0], generator=g) for g in generators])  # [R, N]
        for start in range(0, x.shape[0], batch):
            rows = orders[:, start:start + batch]  # [R, B]
            images = x[rows]  # [R, B, C, H, W]
            if augment is not None:
                images = torch.stack([augment(images[r], g) for r, g in enumerate(generators)])
            loss = ensemble.loss(images, y[rows], None if sample_weight is None else sample_weight[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch)


@torch.no_grad()
def predict_ensemble(ensemble: NetEnsemble, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Predicted classes [R, N] of every net on images x [N, C, H, W]."""
    ensemble.train(False)
    logits = [ensemble.shared(x[start:start + batch]) for start in range(0, x.shape[0], batch)]  # [R, B, K] each
    if not all(torch.isfinite(part).all() for part in logits):
        raise FloatingPointError("a net's outputs are not finite")
    return torch.cat([part.argmax(-1) for part in logits], dim=1)
