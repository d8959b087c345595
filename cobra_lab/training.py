"""Plain supervised training of a network on a tensor dataset (evaluation nets, DC inner loops, warm-ups)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def sgd_epochs(parameters: Iterable[torch.Tensor], epochs: int, lr: float, momentum: float, weight_decay: float,
               decay_at: int | None) -> Iterator[tuple[int, torch.optim.SGD]]:
    """(epoch, optimiser) for each epoch: SGD at ``lr``, and from epoch ``decay_at`` a fresh one at lr x0.1
    (momentum reset), as the reference evaluation does."""
    parameters = list(parameters)
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    for epoch in range(epochs):
        if decay_at is not None and epoch == decay_at:
            optimizer = torch.optim.SGD(parameters, lr=lr * 0.1, momentum=momentum, weight_decay=weight_decay)
        yield epoch, optimizer


def train_epochs(net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, generator: torch.Generator,
                 batch: int = 256, momentum: float = 0.0, weight_decay: float = 0.0, decay_at: int | None = None,
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                 sample_weight: torch.Tensor | None = None) -> None:
    """Train ``net`` on x [N, C, H, W], y [N] with SGD and cross-entropy, shuffling with ``generator``.

    At epoch ``decay_at`` the learning rate drops x0.1 with a fresh optimiser (momentum reset), as the
    reference evaluation does. ``sample_weight`` [N] weights each image's cross-entropy (a weighted batch mean).
    """
    net.train()
    for _, optimizer in sgd_epochs(net.parameters(), epochs, lr, momentum, weight_decay, decay_at):
        order = torch.randperm(x.shape[0], generator=generator)
        for start in range(0, x.shape[0], batch):
            rows = order[start:start + batch]
            images = x[rows]
            if augment is not None:
                images = augment(images, generator)
            if sample_weight is None:
                loss = F.cross_entropy(net(images), y[rows])
            else:
                weight = sample_weight[rows]
                loss = (weight * F.cross_entropy(net(images), y[rows], reduction="none")).sum() / weight.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def group_balanced_weights(y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Per image 1 / (G_y * pi(a|y)) [N]: within each class, every group present gets the same total weight
    (G_y groups present, pi their shares); images without a group (a < 0) weigh 1."""
    weights = torch.ones(len(y))
    for label in y.unique().tolist():
        members = (y == label) & (a >= 0)
        if members.any():
            groups, counts = a[members].unique(return_counts=True)
            share = counts.float() / counts.sum()  # [G_y]
            lookup = dict(zip(groups.tolist(), (1.0 / (len(groups) * share)).tolist()))
            weights[members] = torch.tensor([lookup[g] for g in a[members].tolist()])
    return weights


def top_class(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted class and its softmax probability (the confidence) of logits [..., K]: two [...] tensors."""
    return logits.argmax(-1), torch.softmax(logits.float(), -1).amax(-1)


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes [N] of images x [N, C, H, W] and their confidences [N] (``top_class``); a
    FloatingPointError when an output is not finite."""
    net.eval()
    classes, confidences = [], []
    for start in range(0, x.shape[0], batch):
        logits = net(x[start:start + batch])  # [b, classes]
        if not bool(torch.isfinite(logits).all()):
            raise FloatingPointError("the net's outputs are not finite")
        predicted, confidence = top_class(logits)  # [b], [b]
        classes.append(predicted)
        confidences.append(confidence)
    return torch.cat(classes), torch.cat(confidences)
