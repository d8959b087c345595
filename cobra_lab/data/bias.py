"""Biased splits as pure functions on uint8 images: colour rendering (10-colour palette), grayscale
groups (CIFAR10-S), skewed / balanced group assignment, the GAP corruption ladder and the semantic GAP.

Under ``data.render: shared`` (the paper's Appendix F construction of its GAP sweep) every image is painted as
one group's images are, whatever its own group, so that GAP 0 gives groups of identical appearance and each
level alpha >= 1 of the ladder is the only thing that sets the minority images apart.

The FairDD reference code's Fashion-MNIST background arithmetic overflows uint8, so for the continuous-intensity
background sets our default is a clean colouring. Its literal intent, v + colour * (1 - v/255), paints white
objects on the colour and so erases every object on the white (and nearly on the pale-yellow) background; we
paint the object dark instead, out = colour * (1 - v/255): the background (v = 0) is exactly the colour, as in
the reference, and the object is dark as in the reference's actual output and in MNIST BG (black digit on the
colour). ``bg_continuous_as_coded`` reproduces the reference's actual pixels, overflow and all
(``data.render: reference``), for comparing with numbers published from that code.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Render = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

PALETTE = torch.tensor([(255, 0, 0), (255, 128, 0), (255, 255, 0), (255, 255, 128), (0, 255, 0), (0, 255, 255),
                        (0, 0, 255), (128, 0, 255), (255, 0, 255), (255, 255, 255)], dtype=torch.uint8)  # [10, 3] RGB
COLOUR_NAMES = ("red", "orange", "yellow", "pale yellow", "green", "cyan", "blue", "violet", "magenta", "white")
PAD = (4, 0, 4, 0)  # 28x28 -> 32x32 with the padding on the left and top only, as in the reference
MASK_THRESHOLD = 128  # binary MNIST masks: a pixel >= 128 is the digit
NOISE_SIGMA = 25.0  # GAP Gaussian noise, on the 0..255 scale
LINE_VALUE = 255  # GAP diagonal lines, all channels
SEMANTIC_STEP = 0.25  # norm of the semantic-GAP offset per unit of gamma, in normalised units


def pad32(gray: torch.Tensor) -> torch.Tensor:
    """Place 28x28 images at rows/cols 4..31 of a zero 32x32 canvas."""
    return F.pad(gray, PAD)  # [N, 1, 28, 28] -> [N, 1, 32, 32]


def _colours(a: torch.Tensor) -> torch.Tensor:
    """Palette colours of groups ``a`` as int32, broadcastable over images."""
    return PALETTE[a].to(torch.int32)[:, :, None, None]  # [N, 3, 1, 1]


def fg_binary(gray: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """MNIST foreground: digit pixels (>= 128) in the group colour, everything else black."""
    mask = pad32(gray) >= MASK_THRESHOLD  # [N, 1, 32, 32] bool
    return (_colours(a) * mask).to(torch.uint8)  # [N, 3, 32, 32]


def bg_binary(gray: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """MNIST background: digit pixels (>= 128) black, background (< 128) in the group colour."""
    mask = pad32(gray) < MASK_THRESHOLD  # [N, 1, 32, 32] bool
    return (_colours(a) * mask).to(torch.uint8)  # [N, 3, 32, 32]


def fg_continuous(gray: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Continuous foreground: colour * v/255 on black."""
    v = pad32(gray).to(torch.int32)  # [N, 1, 32, 32] in 0..255
    return ((_colours(a) * v + 127) // 255).to(torch.uint8)  # [N, 3, 32, 32]


def bg_continuous(gray: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Continuous background: colour * (1 - v/255), so v = 0 is the colour and the object is dark."""
    v = pad32(gray).to(torch.int32)  # [N, 1, 32, 32] in 0..255
    return ((_colours(a) * (255 - v) + 127) // 255).to(torch.uint8)  # [N, 3, 32, 32]


def bg_continuous_as_coded(gray: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The reference code's background arithmetic as it runs: out = 255 + (1 - v/255) * (colour/255 - 255) in
    float32, times 255, cast to uint8 wrapping modulo 256. The background (v = 0) is the colour; object pixels
    wrap into a dark texture that depends on the colour (v = 255 gives (1, 1, 1))."""
    v = pad32(gray).float()  # [N, 1, 32, 32] in 0..255
    start = _colours(a).float() / 255 - 255  # [N, 3, 1, 1]
    out = (255 + (255 - v) / 255 * start) * 255  # [N, 3, 32, 32], in [0, 65025]
    return out.to(torch.int64).remainder(256).to(torch.uint8)


def grayscale(rgb: torch.Tensor) -> torch.Tensor:
    """Luminance 0.299 R + 0.587 G + 0.114 B with PIL 'L' integer rounding, replicated to 3 channels."""
    r, g, b = rgb.to(torch.int32).unbind(1)  # 3 x [N, H, W]
    luma = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16  # [N, H, W]
    return luma.to(torch.uint8).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()  # [N, 3, H, W]


def gray_or_colour(rgb: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """CIFAR10-S: group 0 images in grayscale, group 1 in colour."""
    return torch.where((a == 0)[:, None, None, None], grayscale(rgb), rgb)  # [N, 3, H, W]


def render_in_chunks(render: Render, x: torch.Tensor, a: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """``render(x, a)`` over slices of ``chunk`` images, to bound the int32 temporaries."""
    return torch.cat([render(x[i:i + chunk], a[i:i + chunk]) for i in range(0, len(x), chunk)])


def even_sizes(total: int, parts: int, gen: torch.Generator) -> torch.Tensor:
    """``total`` split into ``parts`` sizes differing by at most one; random parts get the extra one."""
    sizes = torch.full((parts,), total // parts, dtype=torch.int64)  # [parts]
    sizes[torch.randperm(parts, generator=gen)[:total % parts]] += 1
    return sizes


def _per_class(y: torch.Tensor, num_classes: int, gen: torch.Generator,
               plan: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Groups for each class: shuffle its images, then give consecutive runs the (groups, sizes) of ``plan``."""
    a = torch.empty_like(y)  # [N]
    for k in range(num_classes):
        members = (y == k).nonzero().squeeze(1)
        members = members[torch.randperm(len(members), generator=gen)]
        groups, sizes = plan(k, len(members))
        a[members] = groups.repeat_interleave(sizes)
    return a


def majority_count(n: int, skew: float) -> int:
    """round(n * skew), halves rounded up."""
    return math.floor(n * skew + 0.5)


def skewed_groups(y: torch.Tensor, majority: torch.Tensor, num_groups: int, skew: float,
                  gen: torch.Generator) -> torch.Tensor:
    """Per class k: round(n * skew) images in group majority[k], the rest spread evenly over the others."""

    def plan(k: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        others = [g for g in range(num_groups) if g != int(majority[k])]
        n_major = majority_count(n, skew)
        sizes = torch.cat([torch.tensor([n_major]), even_sizes(n - n_major, num_groups - 1, gen)])
        return torch.tensor([int(majority[k])] + others), sizes

    return _per_class(y, len(majority), gen, plan)


def balanced_groups(y: torch.Tensor, num_classes: int, num_groups: int, gen: torch.Generator) -> torch.Tensor:
    """Per class: images spread over all groups as evenly as possible (counts differ by at most one)."""
    return _per_class(y, num_classes, gen, lambda k, n: (torch.arange(num_groups), even_sizes(n, num_groups, gen)))


def class_balanced_share(y: torch.Tensor, num_classes: int, parts: int, gen: torch.Generator) -> torch.Tensor:
    """Sorted row indices of a seeded 1/``parts`` of each class's images (rounded up, at least one per class)."""
    keep = []
    for k in range(num_classes):
        members = (y == k).nonzero().squeeze(1)
        members = members[torch.randperm(len(members), generator=gen)]
        keep.append(members[:max(1, -(-len(members) // parts))])
    return torch.cat(keep).sort().values


def every_group(x: torch.Tensor, y: torch.Tensor,
                num_groups: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every image once per group (CIFAR10-S style test duplication): exactly balanced cells."""
    a = torch.arange(num_groups).repeat_interleave(len(y))  # [G * N]
    return x.repeat(num_groups, 1, 1, 1), y.repeat(num_groups), a  # [G * N, C, H, W], [G * N], [G * N]


def every_group_size(y: torch.Tensor, a: torch.Tensor) -> int | None:
    """N where the split is ``every_group``'s layout (G consecutive blocks of the same N classes, block g all in
    group g: row g * N + i is base image i in group g), else None."""
    groups = int(a.max()) + 1 if len(a) else 0
    if groups < 2 or len(y) % groups:
        return None
    size = len(y) // groups
    blocks = y.view(groups, size)  # [G, N]
    aligned = torch.equal(a, torch.arange(groups).repeat_interleave(size)) and bool((blocks == blocks[0]).all())
    return size if aligned else None


def minority_mask(y: torch.Tensor, a: torch.Tensor, majority: torch.Tensor) -> torch.Tensor:
    """True for images whose group is not their class's designated majority group."""
    return a != majority[y]  # [N] bool


def gaussian_noise(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Add N(0, 25^2) noise per pixel on the 0..255 scale, rounded and clipped to uint8."""
    noise = torch.randn(x.shape, generator=gen) * NOISE_SIGMA
    return (x.float() + noise).round().clamp(0, 255).to(torch.uint8)


def _line(x: torch.Tensor, anti: bool) -> torch.Tensor:
    """A copy of ``x`` with a 1-px line of LINE_VALUE on the diagonal (or the anti-diagonal)."""
    out = x.clone()
    rows = torch.arange(min(x.shape[-2:]))
    cols = x.shape[-1] - 1 - rows if anti else rows
    out[:, :, rows, cols] = LINE_VALUE
    return out


def channel_shuffle(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """GAP step 1: [R, G, B] -> [G, B, R]."""
    return x[:, [1, 2, 0]]


def diagonal_line(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """GAP step 2: a thin line from the top-left to the bottom-right corner."""
    return _line(x, anti=False)


def noise_and_anti_diagonal(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """GAP step 3: Gaussian noise, then a second line from the top-right to the bottom-left corner."""
    return _line(gaussian_noise(x, gen), anti=True)


def rotate_invert_noise(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """GAP step 4: rotate 270 degrees counter-clockwise, invert (255 - x), another round of noise."""
    return gaussian_noise(255 - torch.rot90(x, k=3, dims=(2, 3)), gen)


GAP_STEPS = (channel_shuffle, diagonal_line, noise_and_anti_diagonal, rotate_invert_noise)


def apply_gap(x: torch.Tensor, alpha: int, gen: torch.Generator) -> torch.Tensor:
    """GAP level ``alpha``: the first ``alpha`` steps in order, so every level contains the ones below it."""
    for step in GAP_STEPS[:alpha]:
        x = step(x, gen)
    return x  # [N, 3, H, W] uint8


def semantic_offsets(num_groups: int) -> torch.Tensor:
    """v_a = 0.25 * sqrt(2/3) * (cos t_a, cos(t_a + 2pi/3), cos(t_a + 4pi/3)), t_a = 2pi a / G.

    Each v_a has norm 0.25 (normalised units) and zero channel sum (a hue shift that keeps brightness); the
    groups' directions are evenly spread around the hue circle. CIFAR10-S (G = 2): v_0 = (0.204, -0.102, -0.102)
    (towards red), v_1 = -v_0; with its std of about 0.24 one unit of gamma moves a pixel by about 13/255.
    """
    angles = 2 * math.pi * torch.arange(num_groups, dtype=torch.float64) / num_groups  # [G]
    phases = 2 * math.pi * torch.arange(3, dtype=torch.float64) / 3  # [3]
    unit = math.sqrt(2 / 3) * torch.cos(angles[:, None] + phases[None, :])  # [G, 3], unit norm
    return (SEMANTIC_STEP * unit).float()


def add_semantic_gap(x: torch.Tensor, a: torch.Tensor, minority: torch.Tensor, gamma: float,
                     num_groups: int) -> torch.Tensor:
    """In place: x += gamma * v_a on the normalised minority images (no clipping); returns ``x``."""
    shift = gamma * semantic_offsets(num_groups)[a] * minority[:, None]  # [N, 3]
    return x.add_(shift[:, :, None, None])
