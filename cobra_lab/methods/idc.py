"""IDC (efficient condensation by multi-formation): DC's gradient matching on images decoded from the stored ones.

Each stored synthetic image holds factor x factor smaller images: decoding cuts it into that grid and upsamples
every piece back to the full size (bilinear, corners aligned), so ipc stored images per class stand for
ipc * factor^2 training images. The matching is DC's, as COBRA's released IDC runs it: a fresh random network
per iteration, never trained by default, ``outer_loop`` image steps on it, the per-row cosine distance over
every conv and linear weight, and all decoded images of a class in its synthetic gradient. Real per-cell
gradients are DC's batched ones (the real images are not decoded).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..options import integer, option
from ..sections import RunConfig
from .base import Augment
from .dc import DC, DCDistill, reference_loops
from .registry import METHODS

OUTER_LOOPS = {50: 30, 100: 30}  # image steps per net where COBRA's IDC departs from DC's table


def idc_outer_loop(ipc: int) -> int:
    """Image steps per fresh network for ``ipc`` stored images per class, as COBRA's IDC runs them."""
    return OUTER_LOOPS.get(ipc, reference_loops(ipc)[0])


def decode_zoom(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The factor x factor pieces of each image x [N, C, H, W], each upsampled to H x W (bilinear, corners
    aligned): [N * factor^2, C, H, W], image by image, pieces row by row; differentiable.

    A side not divisible by ``factor`` is first padded at its end with zeros (the normalised data mean).
    """
    if factor == 1:
        return x
    count, channels, height, width = x.shape
    x = F.pad(x, (0, -width % factor, 0, -height % factor))
    rows, cols = x.shape[-2] // factor, x.shape[-1] // factor
    pieces = x.view(count, channels, factor, rows, factor, cols).permute(0, 2, 4, 1, 3, 5)  # [N, f, f, C, h, w]
    pieces = pieces.reshape(count * factor * factor, channels, rows, cols)
    return F.interpolate(pieces, size=(height, width), mode="bilinear", align_corners=True)


@dataclass(frozen=True, kw_only=True)
class IDCDistill(DCDistill):
    """IDC's own options: DC's loops (null outer: 10 at IPC 10, 30 at IPC 50 and 100, as COBRA's IDC runs;
    null inner: the net is never trained) and the multi-formation factor."""

    factor: int = option(integer(1, 8), 2)


@METHODS.register("idc")
class IDC(DC):
    """IDC: DC's Phi and D on the decoded synthetic images; ``factor`` pieces per side of each stored image."""

    name = "idc"
    section = IDCDistill

    def __init__(self, config: RunConfig, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(config, image_shape, num_classes)
        self.factor = self.settings.factor
        if 2 * self.factor > min(image_shape[1:]):
            raise UserError(f"distill.factor={self.factor} cuts a {min(image_shape[1:])} px image into pieces under "
                            f"2 px; use distill.factor <= {min(image_shape[1:]) // 2}")
        self.outer = self.settings.outer_loop or idc_outer_loop(config.ipc)
        self.inner = self.settings.inner_loop or 0  # null: the net is never trained (COBRA's IDC)

    def decode(self, x_syn: torch.Tensor) -> torch.Tensor:
        return decode_zoom(x_syn, self.factor)

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Train the network ``inner`` epochs on the decoded synthetic set (none by default)."""
        if self.inner:
            super().between_rounds(net, self.decode(x_syn.detach()), y_syn.repeat_interleave(self.factor ** 2),
                                   generator)

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        return super().synthetic_statistics(net, self.decode(x_syn), augment)  # [classes, D]
