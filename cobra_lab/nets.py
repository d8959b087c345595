"""Networks used to distill and to evaluate, built by name from a registry and seeded explicitly."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .accel.pooling import MeanPool2
from .registry import Registry

NETS: Registry[nn.Module] = Registry("architecture")
NORMS = ("instancenorm", "batchnorm", "layernorm", "groupnorm", "none")
NetFactory = Callable[[torch.Generator], nn.Module]  # generator -> a freshly initialised net, seeded from it


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


def padded_side(size: int) -> int:
    """The side a ConvNet's first block works at: a 28 px input is padded to 32 by the first conv."""
    return 32 if size == 28 else size


def convnet_max_depth(size: int) -> int:
    """The most blocks a ConvNet can stack on ``size`` px images: each halves the side, which must stay >= 1."""
    return padded_side(size).bit_length() - 1


class ConvNet(nn.Module):
    """The DC/DM ConvNet: ``depth`` blocks of conv3x3 -> norm -> ReLU -> avgpool2, then one linear layer."""

    def __init__(self, channels: int, classes: int, size: int, width: int = 128, depth: int = 3,
                 norm: str = "instancenorm") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        side = padded_side(size)
        in_channels = channels
        for index in range(depth):
            padding = 3 if (channels == 1 and size == 28 and index == 0) else 1
            layers += [nn.Conv2d(in_channels, width, 3, padding=padding), norm_layer(norm, width, side),
                       nn.ReLU(inplace=True), MeanPool2()]
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

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The layer features CAFE aligns, from one pass: each block's activation (after its ReLU, before its pool),
        [N, width, side / 2^b, side / 2^b] for block b, then the last pool's output [N, width, s, s], which
        ``embed`` flattens."""
        outputs = []
        for module in self.features:
            x = module(x)
            if isinstance(module, nn.ReLU):
                outputs.append(x)
        return [*outputs, x]


@NETS.register("convnet")
def convnet(channels: int, classes: int, size: int, width: int = 128, depth: int = 3,
            norm: str = "instancenorm") -> nn.Module:
    """ConvNet with the reference defaults (width 128, depth 3, instance norm)."""
    return ConvNet(channels, classes, size, width=width, depth=depth, norm=norm)


class FeaturesThenLinear(nn.Module):
    """A feature extractor followed by one linear layer sized by a dry run at the given input size."""

    def __init__(self, features: nn.Module, channels: int, classes: int, size: int) -> None:
        super().__init__()
        self.features = features
        with torch.no_grad():
            self.embed_dim = int(self.features(torch.zeros(1, channels, size, size)).flatten(1).shape[1])
        self.classifier = nn.Linear(self.embed_dim, classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened features: [N, C, H, W] -> [N, embed_dim]."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits: [N, C, H, W] -> [N, classes]."""
        return self.classifier(self.embed(x))


def _first_padding(size: int, usual: int) -> int:
    """28 px inputs are padded to 32 by the first conv (as the reference does for MNIST), others keep ``usual``."""
    return usual + 2 if size == 28 else usual


@NETS.register("alexnet")
def alexnet(channels: int, classes: int, size: int, norm: str = "none", **_: object) -> nn.Module:
    """The DC AlexNet (no dropout): conv5-128, conv5-192, conv3-256, conv3-192, conv3-192 with max pools."""
    def block(cin: int, cout: int, kernel: int, padding: int, side: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, kernel, padding=padding), norm_layer(norm, cout, side), nn.ReLU(inplace=True)]

    side = 32 if size == 28 else size
    layers = [*block(channels, 128, 5, _first_padding(size, 2), side), nn.MaxPool2d(2),
              *block(128, 192, 5, 2, side // 2), nn.MaxPool2d(2),
              *block(192, 256, 3, 1, side // 4), *block(256, 192, 3, 1, side // 4), *block(192, 192, 3, 1, side // 4),
              nn.MaxPool2d(2)]
    return FeaturesThenLinear(nn.Sequential(*layers), channels, classes, size)


@NETS.register("vgg11")
def vgg11(channels: int, classes: int, size: int, norm: str = "instancenorm", **_: object) -> nn.Module:
    """VGG11 (cfg 64 M 128 M 256 256 M 512 512 M 512 512 M), conv -> norm -> ReLU, instance norm by default."""
    layers: list[nn.Module] = []
    cin, side = channels, 32 if size == 28 else size
    for index, item in enumerate([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]):
        if item == "M":
            layers.append(nn.MaxPool2d(2))
            side //= 2
            continue
        padding = _first_padding(size, 1) if index == 0 else 1
        layers += [nn.Conv2d(cin, item, 3, padding=padding), norm_layer(norm, item, side), nn.ReLU(inplace=True)]
        cin = item
    return FeaturesThenLinear(nn.Sequential(*layers), channels, classes, size)


class BasicBlock(nn.Module):
    """ResNet basic block: two conv3x3 with norms, a conv1x1 shortcut where the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, norm: str, side: int) -> None:
        super().__init__()
        out_side = side // stride
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), norm_layer(norm, cout, out_side),
            nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False), norm_layer(norm, cout, out_side))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), norm_layer(norm, cout, out_side))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


@NETS.register("resnet18")
def resnet18(channels: int, classes: int, size: int, norm: str = "instancenorm", **_: object) -> nn.Module:
    """ResNet18 (basic blocks [2, 2, 2, 2], widths 64-512, strides 1/2/2/2), then avg_pool 4 and a linear layer."""
    side = 32 if size == 28 else size
    layers: list[nn.Module] = [nn.Conv2d(channels, 64, 3, padding=_first_padding(size, 1), bias=False),
                               norm_layer(norm, 64, side), nn.ReLU(inplace=True)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block_stride in (stride, 1):
            layers.append(BasicBlock(cin, cout, block_stride, norm, side))
            side //= block_stride
            cin = cout
    layers.append(nn.AvgPool2d(4))
    return FeaturesThenLinear(nn.Sequential(*layers), channels, classes, size)


def build(name: str, channels: int, classes: int, size: int, generator: torch.Generator, **options) -> nn.Module:
    """Build network ``name`` with its initial weights drawn from a seed taken from ``generator``."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NETS.build(name, channels, classes, size, **options)


def flat_parameters(net: nn.Module) -> torch.Tensor:
    """All parameters of ``net`` in ``named_parameters`` order, detached, as one vector [P]."""
    return torch.cat([parameter.detach().flatten() for parameter in net.parameters()])


def unflatten(net: nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """The flat vector theta [P] as ``net``'s named parameters (views, so gradients flow back to theta)."""
    shapes = [(name, parameter.shape) for name, parameter in net.named_parameters()]
    pieces = torch.split(theta, [shape.numel() for _, shape in shapes])
    return {name: piece.view(shape) for (name, shape), piece in zip(shapes, pieces)}
