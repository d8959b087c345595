"""Dataset condensation (DC): the cross-entropy gradient of a batch w.r.t. the weight matrices of a ConvNet.

Per-cell gradients come from one forward and one backward over every image of every cell: the backward
gives each image's gradient at each layer output (the loss is a weighted sum of per-image losses and the
nets here normalise per image), and each cell's weight gradient is the batched product of those with the
layer inputs, with no Python loop over cells or groups. The synthetic per-class gradients keep their
graph so the images can learn.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..sampling import RealBatch
from ..training import train_epochs
from . import METHODS
from .base import Augment, Method

# (outer, inner) loops of the reference per ipc; others: below 10 -> (5, 10) [COBRA], above 50 -> (100, 10) [FairDD]
REFERENCE_LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}


def reference_loops(ipc: int) -> tuple[int, int]:
    """The reference (outer, inner) loop counts for ``ipc`` images per class."""
    if ipc in REFERENCE_LOOPS:
        return REFERENCE_LOOPS[ipc]
    return (5, 10) if ipc < 10 else (100, 10) if ipc > 50 else REFERENCE_LOOPS[10 * round(ipc / 10)]


MATCHED_LAYERS = (nn.Conv2d, nn.Linear)


def matched_layers(net: nn.Module) -> list[nn.Module]:
    """The layers whose weights are matched: every Conv2d and Linear (1-D parameters count for nothing)."""
    return [module for module in net.modules() if isinstance(module, MATCHED_LAYERS)]


def _unfold_like_weight(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Layer inputs arranged like the weight's columns: [R, I * kh * kw, P] for a conv, [R, I, 1] for a linear."""
    if not isinstance(module, nn.Conv2d):
        return inputs.unsqueeze(2)
    if module.stride != (1, 1) or module.dilation != (1, 1) or module.groups != 1:
        return F.unfold(inputs, module.kernel_size, module.dilation, module.padding, module.stride)
    # stride-1 convs: stack shifted views of the padded input (several times faster than F.unfold on CPU)
    (kh, kw), (ph, pw) = module.kernel_size, module.padding
    padded = F.pad(inputs, [pw, pw, ph, ph])  # [R, I, H + 2ph, W + 2pw]
    height, width = padded.shape[2] - kh + 1, padded.shape[3] - kw + 1
    shifted = [padded[:, :, i:i + height, j:j + width] for i in range(kh) for j in range(kw)]
    return torch.stack(shifted, dim=2).flatten(1, 2).flatten(2)  # [R, I * kh * kw, P]


def cell_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor, labels: torch.Tensor,
                   create_graph: bool) -> torch.Tensor:
    """Per-cell gradients [K, D] of the mean cross-entropy of each cell's images w.r.t. the matched weights.

    x [R, C, H, W]; cell, labels [R]; sizes [K] images per cell. D = the matched weights, flattened in
    module order. Each image's weight gradient is one small matrix product (batched over images), and the
    cells are segment sums of those.
    """
    layers = matched_layers(net)
    captured: list[tuple[torch.Tensor, torch.Tensor]] = []
    hooks = [layer.register_forward_hook(lambda module, args, out: captured.append((args[0], out)))
             for layer in layers]
    try:
        logits = net(x)  # [R, classes]
    finally:
        for hook in hooks:
            hook.remove()
    weights = 1.0 / sizes[cell].to(logits.dtype)  # [R]
    loss = (weights * F.cross_entropy(logits, labels, reduction="none")).sum()
    outputs_grad = torch.autograd.grad(loss, [out for _, out in captured], create_graph=create_graph)
    blocks = []
    for layer, (inputs, _), out_grad in zip(layers, captured, outputs_grad):
        columns = _unfold_like_weight(layer, inputs)  # [R, I', P]
        out_grad = out_grad.flatten(2) if out_grad.dim() > 2 else out_grad.unsqueeze(2)  # [R, O, P]
        per_image = torch.bmm(out_grad, columns.transpose(1, 2)).flatten(1)  # [R, O * I']
        blocks.append(per_image.new_zeros(sizes.numel(), per_image.shape[1]).index_add(0, cell, per_image))
    return torch.cat(blocks, dim=1)  # [K, D]


def matrix_shapes(net: nn.Module) -> list[tuple[int, int]]:
    """(rows, columns) of each matched weight, in the order of ``cell_gradients``."""
    return [(layer.weight.shape[0], layer.weight[0].numel()) for layer in matched_layers(net)]


def rowwise_cosine_distance(u: torch.Tensor, v: torch.Tensor, shapes: list[tuple[int, int]]) -> torch.Tensor:
    """Sum over parameter rows of 1 - cos(u_row, v_row) (the DC 'ours' metric): [..., D] x [..., D] -> [...]."""
    total = u.new_zeros(torch.broadcast_shapes(u.shape[:-1], v.shape[:-1]))
    start = 0
    for rows, cols in shapes:
        a = u[..., start:start + rows * cols].unflatten(-1, (rows, cols))  # [..., rows, cols]
        b = v[..., start:start + rows * cols].unflatten(-1, (rows, cols))
        cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + 1e-6)  # [..., rows]
        total = total + (1 - cosine).sum(-1)
        start += rows * cols
    return total


@METHODS.register("dc")
class DC(Method):
    """DC: Phi = gradient of the mean cross-entropy; D = per-row cosine distance; outer/inner loops."""

    name = "dc"

    def __init__(self, config: dict, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(config, image_shape, num_classes)
        if self.net_config.get("norm", "instancenorm") not in ("instancenorm", "groupnorm", "none"):
            raise UserError(f"method dc needs a per-image norm (instancenorm, groupnorm or none), "
                            f"not {self.net_config['norm']!r}")
        ipc = int(config["ipc"])
        outer, inner = reference_loops(ipc)
        self.outer = int(self.config.get("outer_loop") or outer)
        self.inner = int(self.config.get("inner_loop") or inner)
        self.shapes: list[tuple[int, int]] = []

    def rounds(self) -> int:
        return self.outer

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        net.train()
        self.shapes = matrix_shapes(net)

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Train the network for ``inner`` epochs on the current synthetic set."""
        train_epochs(net, x_syn.detach(), y_syn, self.inner, lr=float(self.config["lr_net"]), generator=generator,
                     batch=int(self.config["batch_train"]))

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        sizes = batch.counts.flatten().to(x.device)  # [K]
        labels = batch.cell.to(x.device) // batch.counts.shape[1]  # [R]
        cell, augmented, chunk = batch.cell.to(x.device), augment(x), self.chunk_size(x.device)
        # the loss is a sum of per-image terms, so chunks of images add up to the whole batch's cell gradients
        return sum(cell_gradients(net, augmented[start:start + chunk], cell[start:start + chunk], sizes,
                                  labels[start:start + chunk], create_graph=False).detach()
                   for start in range(0, x.shape[0], chunk))

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        ipc = x_syn.shape[0] // self.num_classes
        cell = torch.arange(self.num_classes, device=x_syn.device).repeat_interleave(ipc)  # [C * ipc]
        sizes = torch.full((self.num_classes,), ipc, device=x_syn.device)
        return cell_gradients(net, augment(x_syn), cell, sizes, cell, create_graph=True)

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return rowwise_cosine_distance(u, v, self.shapes)
