"""Several nets of one architecture trained as one: stacked parameters, one optimiser, each net its own draws.

Each net keeps its own initial weights, data order and augmentation draws (its own ``torch.Generator``), so
net r of an ensemble follows the same arithmetic as net r trained alone, up to float rounding. On a GPU the
members run under ``torch.func.vmap`` (R convolutions become one grouped convolution: few large kernels for
a synthetic set of a few hundred images). On the CPU oneDNN's grouped convolutions are slower than separate
ones, so the members' passes run in turn, each over passes of a few images (``eval.chunk``), whose small
activations malloc recycles cheaply; every pass's gradient is added to its member's.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .accel.compiled import compile_function, compiled_for, compiled_or_eager, zero_padded
from .training import sgd_epochs, top_class


def can_stack(net: nn.Module) -> bool:
    """Whether nets like ``net`` can train stacked and in passes of a few images: not with buffers (BatchNorm's
    running statistics are updated in place, which vmap cannot batch, and its batch statistics tie the images of
    a batch together), nor with dropout (its masks would come from the global RNG)."""
    return not any(True for _ in net.buffers()) and not any(isinstance(m, nn.Dropout) for m in net.modules())


class NetEnsemble:
    """R nets of one architecture as stacked parameters ([R, ...] each), called on [R, B, ...] batches.

    ``vectorize``: one vmapped pass for all members (grouped convolutions), else each member's pass in turn.
    ``compile``: the training loss (forward and backward) and the prediction pass compiled, once per
    architecture and way of running.
    """

    def __init__(self, nets: list[nn.Module], vectorize: bool, compile: bool = False) -> None:
        if not all(can_stack(net) for net in nets):
            raise ValueError("nets with buffers or dropout cannot train stacked")
        params, _ = stack_module_state(nets)  # name -> [R, ...] leaf tensors that require grad
        self.params = params
        self.skeleton = copy.deepcopy(nets[0]).to("meta")
        self.size = len(nets)
        self.vectorize = vectorize
        skeleton = self.skeleton

        def loss(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor):
            return _weighted_loss(skeleton, vectorize, params, x, y, scale)

        def logits(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return _logits(skeleton, vectorize, params, x)

        # two functions (not partials, which share one code object): each compiles and recompiles on its own
        self._loss, self._logits = loss, logits
        self._compiled_loss, self._compiled_logits = compiled_for(nets[0], f"ensemble-{vectorize}", lambda _: (
            compile_function(loss), compile_function(logits))) if compile else (None, None)

    def parameters(self) -> list[torch.Tensor]:
        """The stacked parameters, for an optimiser (one update of each is R nets' updates)."""
        return list(self.params.values())

    def _pass_loss(self, *args: torch.Tensor) -> torch.Tensor:
        """``_weighted_loss`` of one pass, compiled where the ensemble compiles."""
        return _compiled_or_eager(self._compiled_loss, self._loss, *args)

    def _pass_logits(self, *args: torch.Tensor) -> torch.Tensor:
        """``_logits`` of one pass, compiled where the ensemble compiles."""
        return _compiled_or_eager(self._compiled_logits, self._logits, *args)

    def _member(self, index: int) -> dict[str, torch.Tensor]:
        """Member ``index``'s parameters: views of the stacked leaves."""
        return {name: value[index] for name, value in self.params.items()}

    def accumulate_gradients(self, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor, rows: int) -> None:
        """Add to each member's gradient that of its loss, sum over b of scale[r, b] x its cross-entropy on
        image x[r, b], for batches x [R, B, C, H, W], y [R, B], scale [R, B], in passes of ``rows`` images.

        A batch is padded with zero-scale blank images to a whole number of passes, so every pass has one
        shape (one compilation); a padded image adds nothing to any gradient.
        """
        padded = math.ceil(x.shape[1] / rows) * rows
        x, y, scale = (zero_padded(part, padded, dim=1) for part in (x, y, scale))  # [R, B', ...]
        for value in self.params.values():
            if value.grad is None:
                value.grad = torch.zeros_like(value)
        for start in range(0, x.shape[1], rows):
            part = slice(start, start + rows)
            if self.vectorize:
                self._pass_loss(self.params, x[:, part], y[:, part], scale[:, part]).backward()
                continue
            for r in range(self.size):
                member = self._member(r)
                loss = self._pass_loss(member, x[r, part], y[r, part], scale[r, part])
                for value, grad in zip(self.params.values(), torch.autograd.grad(loss, list(member.values()))):
                    value.grad[r] += grad

    @torch.no_grad()
    def shared_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [R, B, K] of every net on one batch x [B, C, H, W]."""
        if self.vectorize:
            return self._pass_logits(self.params, x.expand(self.size, *x.shape))
        return torch.stack([self._pass_logits(self._member(r), x) for r in range(self.size)])

    def train(self, mode: bool = True) -> None:
        """Train or eval mode for every net (the skeleton's modules)."""
        self.skeleton.train(mode)

    def net(self, index: int) -> nn.Module:
        """Net ``index`` as an ordinary module (a copy of its weights)."""
        net = copy.deepcopy(self.skeleton).to_empty(device=next(iter(self.params.values())).device)
        net.load_state_dict({name: value.detach() for name, value in self._member(index).items()})
        return net


def _compiled_or_eager(compiled: Callable[..., torch.Tensor] | None, eager: Callable[..., torch.Tensor],
                       *args: torch.Tensor) -> torch.Tensor:
    """``compiled(*args)`` where there is a compiled function (``compiled_or_eager``: eager once compiling has
    failed), else ``eager(*args)``."""
    if compiled is None:
        return eager(*args)
    return compiled_or_eager(lambda: compiled(*args), lambda: eager(*args))


def _logits(skeleton: nn.Module, vectorize: bool, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits of the stacked members [R, B, K] on their batches x [R, B, C, H, W] (``vectorize``), or of one
    member [B, K] on x [B, C, H, W]."""
    if vectorize:
        return vmap(lambda member, images: functional_call(skeleton, member, (images,)))(params, x)
    return functional_call(skeleton, params, (x,))


def _weighted_loss(skeleton: nn.Module, vectorize: bool, params: dict[str, torch.Tensor], x: torch.Tensor,
                   y: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Sum of scale x cross-entropy over every image of x ([R, B, ...] or [B, ...], as ``_logits``)."""
    logits = _logits(skeleton, vectorize, params, x)  # [R, B, K] or [B, K]
    loss = F.cross_entropy(logits.flatten(0, -2), y.flatten(), reduction="none")  # [R * B] or [B]
    return (scale.flatten() * loss).sum()


def pass_rows(batch: int, chunk: int) -> int:
    """Images per pass that split a batch of ``batch`` into equal passes of at most ``chunk`` (the last one of
    an epoch may be padded)."""
    return math.ceil(batch / math.ceil(batch / chunk))


def train_ensemble_epochs(ensemble: NetEnsemble, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
                          generators: list[torch.Generator], batch: int = 256, momentum: float = 0.0,
                          weight_decay: float = 0.0, decay_at: int | None = None,
                          augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                          sample_weight: torch.Tensor | None = None, chunk: int | None = None,
                          on_epoch: Callable[[int], None] | None = None) -> None:
    """``training.train_epochs`` for every net of ``ensemble`` at once, net r drawing from ``generators[r]``.

    Each net shuffles x [N, C, H, W] with its own generator and augments its own batch with it, in the order
    a lone net would, and gets the gradient of its own (``sample_weight``-weighted) batch mean, computed in
    passes of at most ``chunk`` images (None: the whole batch). SGD acts on every element alone, so stacking
    changes none of its arithmetic.
    """
    if len(generators) != ensemble.size:
        raise ValueError(f"{ensemble.size} nets need {ensemble.size} generators, got {len(generators)}")
    full = min(batch, x.shape[0])
    rows = pass_rows(full, chunk or full)
    ensemble.train()
    for epoch, optimizer in sgd_epochs(ensemble.parameters(), epochs, lr, momentum, weight_decay, decay_at):
        orders = torch.stack([torch.randperm(x.shape[0], generator=g) for g in generators])  # [R, N]
        for start in range(0, x.shape[0], batch):
            picked = orders[:, start:start + batch]  # [R, B]
            images = x[picked]  # [R, B, C, H, W]
            if augment is not None:
                images = torch.stack([augment(images[r], g) for r, g in enumerate(generators)])
            weight = torch.ones(picked.shape, device=x.device) if sample_weight is None else sample_weight[picked]
            optimizer.zero_grad(set_to_none=True)
            ensemble.accumulate_gradients(images, y[picked], weight / weight.sum(1, keepdim=True), rows)
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch)


def predict_ensemble(ensemble: NetEnsemble, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes [R, N] of every net on images x [N, C, H, W] and their confidences [R, N] (``top_class``),
    ``batch`` images at a time (the last batch padded with blank images, so every pass has one shape)."""
    ensemble.train(False)
    images = x.shape[0]
    batch = min(batch, images)
    x = zero_padded(x, math.ceil(images / batch) * batch)  # blank images to whole batches: one shape
    logits = [ensemble.shared_logits(x[start:start + batch]) for start in range(0, x.shape[0], batch)]  # [R, b, K]
    if not all(torch.isfinite(part).all() for part in logits):
        raise FloatingPointError("a net's outputs are not finite")
    classes, confidences = zip(*(top_class(part) for part in logits))  # [R, b] each
    return torch.cat(classes, dim=1)[:, :images], torch.cat(confidences, dim=1)[:, :images]
