"""Per-cell gradients of the cross-entropy w.r.t. a net's weight matrices, from one forward and one backward.

The backward gives each image's gradient at each layer output (the loss is a weighted sum of per-image losses
and the nets here normalise per image), and each cell's weight gradient is one weight-gradient convolution of
its images' slice of those with the layer inputs; or, in few large kernels (for a GPU), the sum of each image's
own weight gradients.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from .chunks import cell_runs

MATCHED_LAYERS = (nn.Conv2d, nn.Linear)


def matched_layers(net: nn.Module) -> list[nn.Module]:
    """The layers whose weights are matched: every Conv2d and Linear (1-D parameters count for nothing)."""
    return [module for module in net.modules() if isinstance(module, MATCHED_LAYERS)]


def _weight_gradient(layer: nn.Module, inputs: torch.Tensor, out_grad: torch.Tensor) -> torch.Tensor:
    """Gradient of the layer's weight from its inputs and the gradient at its output, summed over the images."""
    if isinstance(layer, nn.Conv2d):
        return torch.nn.grad.conv2d_weight(inputs, layer.weight.shape, out_grad, layer.stride, layer.padding,
                                           layer.dilation, layer.groups)  # [O, I / groups, kh, kw]
    return out_grad.t() @ inputs  # [O, I]


def _output_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor,
                      labels: torch.Tensor, create_graph: bool) -> tuple[list[nn.Module], list[torch.Tensor],
                                                                         tuple[torch.Tensor, ...]]:
    """The matched layers, their inputs and the gradients at their outputs of the cell-weighted loss: each
    image's cross-entropy divided by its cell's size (sizes [K]); x [R, C, H, W], cell, labels [R]."""
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
    return layers, [inputs for inputs, _ in captured], outputs_grad


def run_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor, labels: torch.Tensor,
                  create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The cell ids [runs] and gradients [runs, D] of each run of one cell's consecutive images in x [R, C, H, W].

    A run's row is its images' share of their cell's mean cross-entropy gradient w.r.t. the matched weights
    (D = those weights, flattened in module order); cell, labels [R]; sizes [K] images per cell. One forward
    and one backward to the layer outputs serve every run; each run then gets its weight gradients from one
    weight-gradient convolution (or product) per layer.
    """
    layers, inputs, outputs_grad = _output_gradients(net, x, cell, sizes, labels, create_graph)
    ids, lengths = cell_runs(cell)
    bounds = [0, *itertools.accumulate(lengths)]
    per_run = torch.stack([  # [runs, D]
        torch.cat([_weight_gradient(layer, layer_inputs[start:stop], out_grad[start:stop]).flatten()
                   for layer, layer_inputs, out_grad in zip(layers, inputs, outputs_grad)])
        for start, stop in zip(bounds[:-1], bounds[1:])])
    return torch.tensor(ids, device=x.device), per_run


PER_IMAGE_ELEMENTS = 1 << 27  # per-image weight gradients held at once (512 MB of float32), whatever the batch


def _image_weight_gradients(layer: nn.Module, inputs: torch.Tensor, out_grad: torch.Tensor) -> torch.Tensor:
    """Each image's own gradient of the layer's weight [R, weight numel], from one convolution grouped by image
    (or one outer product per image)."""
    images = inputs.shape[0]
    if isinstance(layer, nn.Conv2d):
        out_channels, in_per_group, kh, kw = layer.weight.shape
        return torch.nn.grad.conv2d_weight(  # [R * O, I / groups, kh, kw]: the images as groups of channels
            inputs.reshape(1, -1, *inputs.shape[2:]), (images * out_channels, in_per_group, kh, kw),
            out_grad.reshape(1, -1, *out_grad.shape[2:]), layer.stride, layer.padding, layer.dilation,
            images * layer.groups).view(images, -1)
    return (out_grad[:, :, None] * inputs[:, None, :]).flatten(1)  # [R, O * I]


def image_summed_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor,
                           labels: torch.Tensor) -> torch.Tensor:
    """Per-cell gradients [K, D] as ``batch_cell_gradients`` (detached), summed from each image's own weight
    gradients.

    A few large kernels per layer, whatever the number of cells, suit a GPU, where one small weight-gradient
    convolution per run of a cell costs more to launch than to run; x [R, C, H, W], cell, labels [R], sizes [K].
    """
    layers, inputs, outputs_grad = _output_gradients(net, x, cell, sizes, labels, create_graph=False)
    per_layer = []
    for layer, layer_inputs, out_grad in zip(layers, inputs, outputs_grad):
        summed = out_grad.new_zeros(sizes.numel(), layer.weight.numel())  # [K, weight numel]
        rows = max(1, PER_IMAGE_ELEMENTS // layer.weight.numel())
        for start in range(0, x.shape[0], rows):
            per_image = _image_weight_gradients(layer, layer_inputs[start:start + rows].detach(),
                                                out_grad[start:start + rows])  # [rows, weight numel]
            summed.index_add_(0, cell[start:start + rows], per_image)
        per_layer.append(summed)
    return torch.cat(per_layer, dim=1)


def batch_cell_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor,
                         labels: torch.Tensor, create_graph: bool) -> torch.Tensor:
    """Per-cell gradients [K, D] of the mean cross-entropy of each cell's images w.r.t. the matched weights
    (``run_gradients`` summed per cell); x [R, C, H, W], cell, labels [R], sizes [K]."""
    ids, per_run = run_gradients(net, x, cell, sizes, labels, create_graph)
    return per_run.new_zeros(sizes.numel(), per_run.shape[1]).index_add(0, ids, per_run)
