"""Differentiable Siamese augmentation (DSA): one op and one draw shared by the real and synthetic batch.

Re-implemented from the published DSA method: each call picks one op group
uniformly from the strategy; ``color`` applies brightness, saturation and contrast in turn. A *shared* draw
holds one parameter set that every image of every batch it is applied to takes (Siamese mode, used while
distilling); a per-sample draw gives each image its own parameters (used when training evaluation nets).
All randomness comes from an explicit ``torch.Generator``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .errors import UserError

DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"


@dataclass(frozen=True)
class DSAParams:
    """The reference DSA magnitudes."""

    prob_flip: float = 0.5
    ratio_scale: float = 1.2
    ratio_rotate: float = 15.0
    ratio_crop_pad: float = 0.125
    ratio_cutout: float = 0.5
    brightness: float = 1.0
    saturation: float = 2.0
    contrast: float = 0.5


@dataclass
class Draw:
    """One augmentation draw: the op group and its random numbers (one row, or one per sample)."""

    op: str
    values: dict[str, torch.Tensor] = field(default_factory=dict)  # each [n] or [n, k]


def _uniform(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator)


class DSA:
    """Siamese differentiable augmentation over a ``_``-separated strategy of op groups."""

    def __init__(self, strategy: str = DEFAULT_STRATEGY, params: DSAParams = DSAParams()) -> None:
        self.ops = [op for op in strategy.split("_") if op]
        unknown = [op for op in self.ops if op not in _DRAWERS]
        if not self.ops:
            raise UserError(f"a DSA strategy names at least one op of: {', '.join(sorted(_DRAWERS))}")
        if unknown:
            raise UserError(f"unknown DSA op {unknown[0]!r}; choose from: {', '.join(sorted(_DRAWERS))}")
        self.params = params

    def draw(self, generator: torch.Generator, n: int = 1, size: int = 32) -> Draw:
        """Pick one op group and its random numbers for ``n`` samples (n=1: shared by every image)."""
        op = self.ops[int(torch.randint(len(self.ops), (1,), generator=generator))]
        return Draw(op, _DRAWERS[op](n, generator, self.params, size))

    def apply(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        """Apply ``draw`` to images [N, C, H, W]; a one-row draw is broadcast over the batch."""
        values = {k: v.to(x.device, non_blocking=True) for k, v in draw.values.items()}
        return _APPLIERS[draw.op](x, values, self.params)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment ``x`` with per-sample parameters (for training evaluation nets)."""
        return self.apply(x, self.draw(generator, n=x.shape[0], size=x.shape[-1]))


# --- draws: random numbers only, so the same draw can be applied to several batches -----------------------
def _draw_color(n, g, p, size):
    return {"brightness": _uniform(n, g), "saturation": _uniform(n, g), "contrast": _uniform(n, g)}


def _draw_scale(n, g, p, size):
    return {"sx": _uniform(n, g), "sy": _uniform(n, g)}


def _draw_rotate(n, g, p, size):
    return {"angle": _uniform(n, g)}


def _draw_flip(n, g, p, size):
    return {"flip": _uniform(n, g)}


def _draw_crop(n, g, p, size):
    shift = int(size * p.ratio_crop_pad + 0.5)
    return {"shift": torch.randint(-shift, shift + 1, (n, 2), generator=g)}


def _draw_cutout(n, g, p, size):
    side = int(size * p.ratio_cutout + 0.5)
    return {"offset": torch.randint(0, size + (1 - side % 2), (n, 2), generator=g)}


_DRAWERS = {"color": _draw_color, "scale": _draw_scale, "rotate": _draw_rotate, "flip": _draw_flip,
            "crop": _draw_crop, "cutout": _draw_cutout}


# --- appliers ------------------------------------------------------------------------------------------------
def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape [n] values to broadcast against [N, C, H, W] (n is N or 1)."""
    return v.view(-1, 1, 1, 1).to(x.dtype)


def _apply_color(x, v, p):
    x = x + (_per_sample(v["brightness"], x) - 0.5) * p.brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_sample(v["saturation"], x) * p.saturation) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_sample(v["contrast"], x) + p.contrast) + mean


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    theta = theta.expand(x.shape[0], 2, 3).to(x.dtype)  # [N, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _apply_scale(x, v, p):
    low = 1.0 / p.ratio_scale
    sx = v["sx"] * (p.ratio_scale - low) + low  # [n]
    sy = v["sy"] * (p.ratio_scale - low) + low
    zero = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zero, zero], -1), torch.stack([zero, sy, zero], -1)], 1)  # [n, 2, 3]
    return _affine(x, theta)


def _apply_rotate(x, v, p):
    angle = (v["angle"] - 0.5) * 2 * p.ratio_rotate / 180 * math.pi  # [n]
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], 1)
    return _affine(x, theta)


def _apply_flip(x, v, p):
    return torch.where(_per_sample(v["flip"] < p.prob_flip, x).bool(), x.flip(3), x)


def _apply_crop(x, v, p):
    n, _, h, w = x.shape
    shift = v["shift"].expand(n, 2)  # [N, 2]
    rows = (torch.arange(h, device=x.device).view(1, h) + shift[:, :1] + 1).clamp(0, h + 1)  # [N, H]
    cols = (torch.arange(w, device=x.device).view(1, w) + shift[:, 1:] + 1).clamp(0, w + 1)  # [N, W]
    padded = F.pad(x, [1, 1, 1, 1])  # [N, C, H+2, W+2]
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows.view(n, h, 1), cols.view(n, 1, w)].permute(0, 3, 1, 2)


def _apply_cutout(x, v, p):
    n, _, h, w = x.shape
    side = int(h * p.ratio_cutout + 0.5)
    offset = v["offset"].expand(n, 2)  # [N, 2] centre of the cut square
    rows = torch.arange(h, device=x.device).view(1, h)
    cols = torch.arange(w, device=x.device).view(1, w)
    in_rows = (rows >= offset[:, :1] - side // 2) & (rows < offset[:, :1] + side - side // 2)  # [N, H]
    in_cols = (cols >= offset[:, 1:] - side // 2) & (cols < offset[:, 1:] + side - side // 2)  # [N, W]
    keep = ~(in_rows.view(n, 1, h, 1) & in_cols.view(n, 1, 1, w))  # [N, 1, H, W]
    return x * keep.to(x.dtype)


_APPLIERS = {"color": _apply_color, "scale": _apply_scale, "rotate": _apply_rotate, "flip": _apply_flip,
             "crop": _apply_crop, "cutout": _apply_cutout}
