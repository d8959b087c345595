"""Networks used to distill and to evaluate, built by name from a registry and seeded explicitly."""
from __future__ import annotations

import torch
from torch import nn

from .registry import Registry

NETS: Registry[nn.Module] = Registry("architecture")
NORMS = ("instancenorm", "batchnorm", "layernorm", "groupnorm", "none")


def norm_layer(norm: str, channels: int, size: int) -> nn.Module:
    """The normalisation layer named ``norm`` for ``channels`` feature maps of side ``size``."""
    layers = {
        "instancenorm": lambda: nn.GroupNorm(channels, channels, affine=True),
        "batchnorm": lambda: nn.BatchNorm2d(channels),
        "layernorm": lambda: nn.LayerNorm([channels, size, size]),
        "groupnorm": lambda: nn.GroupNorm(4, channels, affine=True),
        "none": nn.Identity,
    }
    return layers[norm]()


class ConvNet(nn.Module):
    """The DC/DM ConvNet: ``depth`` blocks of conv3x3 -> norm -> ReLU -> avgpool2, then one linear layer."""

    def __init__(self, channels: int, classes: int, size: int, width: int = 128, depth: int = 3,
                 norm: str = "instancenorm") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        side = 32 if size == 28 else size  # a 28 px input is padded to 32 by the first conv
        in_channels = channels
        for index in range(depth):
            padding = 3 if (channels == 1 and size == 28 and index == 0) else 1
            layers += [nn.Conv2d(in_channels, width, 3, padding=padding), norm_layer(norm, width, side),
                       nn.ReLU(inplace=True), nn.AvgPool2d(2)]
            in_channels, side = width, side // 2
        self.features = nn.Sequential(*layers)
        self.embed_dim = width * side * side
        self.classifier = nn.Linear(self.embed_dim, classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened features after the last pool: [N, C, H, W] -> [N, embed_dim]."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits: [N, C, H, W] -> [N, classes]."""
        return self.classifier(self.embed(x))


@NETS.register("convnet")
def convnet(channels: int, classes: int, size: int, width: int = 128, depth: int = 3,
            norm: str = "instancenorm") -> nn.Module:
    """ConvNet with the reference defaults (width 128, depth 3, instance norm)."""
    return ConvNet(channels, classes, size, width=width, depth=depth, norm=norm)


def build(name: str, channels: int, classes: int, size: int, generator: torch.Generator, **options) -> nn.Module:
    """Build network ``name`` with its initial weights drawn from a seed taken from ``generator``."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NETS.build(name, channels, classes, size, **options)
