"""Convolution work of a net and the rate of one plain convolution: how far a step is from the machine's speed."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .timing import median_seconds

PLAIN_CONV_BATCH = 256


def conv_flops_per_image(net: nn.Module, image_shape: tuple[int, ...], device: torch.device) -> float:
    """Forward FLOPs (2 x multiply-adds) of one image through the net's Conv2d layers, from the layer shapes."""
    flops: list[int] = []

    def count(module: nn.Conv2d, args: tuple, out: torch.Tensor) -> None:
        kh, kw = module.kernel_size
        flops.append(2 * out[0].numel() * module.in_channels // module.groups * kh * kw)

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net.embed(torch.zeros(1, *image_shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return float(sum(flops))


def plain_conv_flops_per_second(width: int, device: torch.device, reps: int) -> float:
    """FLOP rate of one plain 3x3 conv2d, [256, width, 32, 32] -> [256, width, 32, 32], without autograd."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(PLAIN_CONV_BATCH, width, 32, 32, generator=generator).to(device)  # [256, width, 32, 32]
    weight = torch.randn(width, width, 3, 3, generator=generator).to(device)  # [width, width, 3, 3]
    with torch.no_grad():
        seconds = median_seconds(lambda: F.conv2d(x, weight, padding=1), reps, 1, device)
    return 2 * PLAIN_CONV_BATCH * width * width * 9 * 32 * 32 / seconds
