"""Plain supervised training of a network on a tensor dataset (evaluation nets, DC inner loops, warm-ups)."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train_epochs(net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, generator: torch.Generator,
                 batch: int = 256, momentum: float = 0.0, weight_decay: float = 0.0, decay_at: int | None = None,
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                 on_epoch: Callable[[int], None] | None = None) -> None:
    """Train ``net`` on x [N, C, H, W], y [N] with SGD and cross-entropy, shuffling with ``generator``.

    At epoch ``decay_at`` the learning rate drops x0.1 with a fresh optimiser (momentum reset), as the
    reference evaluation does.
    """
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    for epoch in range(epochs):
        if decay_at is not None and epoch == decay_at:
            optimizer = torch.optim.SGD(net.parameters(), lr=lr * 0.1, momentum=momentum, weight_decay=weight_decay)
        order = torch.randperm(x.shape[0], generator=generator)
        for start in range(0, x.shape[0], batch):
            rows = order[start:start + batch]
            images = x[rows]
            if augment is not None:
                images = augment(images, generator)
            loss = F.cross_entropy(net(images), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch)


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Predicted classes [N] of images x [N, C, H, W]."""
    net.eval()
    return torch.cat([net(x[start:start + batch]).argmax(1) for start in range(0, x.shape[0], batch)])
