"""2x2 mean pooling as a matrix product: the ConvNet's pooling layer, fast on the CPU."""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


@functools.cache
def _row_pair_pooling(width: int, dtype: torch.dtype) -> torch.Tensor:
    """[2 * width, width / 2]: 1/4 where an entry of a pair of image rows falls in the output column's 2x2 block."""
    half = torch.eye(width // 2, dtype=dtype).repeat_interleave(2, dim=0) / 4  # [width, width / 2]
    return torch.cat([half, half])


class MeanPool2(nn.Module):
    """2x2 average pooling with stride 2 (``nn.AvgPool2d(2)``): [N, C, H, W] -> [N, C, H / 2, W / 2].

    A speed device, the same function as ``avg_pool2d``: on the CPU each pair of rows is one row of a matrix
    product, so forward and backward are one GEMM each, faster than ``avg_pool2d``'s CPU kernels (timed by
    benchmarks/bench_step.py). Compiled graphs, other devices and odd sides use ``avg_pool2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if x.device.type != "cpu" or torch.compiler.is_compiling() or h % 2 or w % 2:
            return F.avg_pool2d(x, 2)
        pairs = x.reshape(n * c * h // 2, 2 * w)  # [N * C * H / 2, 2W]: row pairs side by side
        return (pairs @ _row_pair_pooling(w, x.dtype)).view(n, c, h // 2, w // 2)
