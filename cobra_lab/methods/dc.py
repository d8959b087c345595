"""Dataset condensation (DC): the cross-entropy gradient of a batch w.r.t. the weight matrices of a ConvNet.

Per-cell gradients come from one forward and one backward over every image of every cell: the backward
gives each image's gradient at each layer output (the loss is a weighted sum of per-image losses and the
nets here normalise per image), and each cell's weight gradient is one weight-gradient convolution of its
images' slice of those with the layer inputs. The synthetic per-class gradients keep their graph so the
images can learn.
"""
from __future__ import annotations

import contextlib
import copy
import itertools
import threading
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..compiled import compile_function, compiled_for, compiled_or_eager, weights_of
from ..sampling import RealBatch
from ..threads import one_thread, single_threaded_pool
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


def _weight_gradient(layer: nn.Module, inputs: torch.Tensor, out_grad: torch.Tensor) -> torch.Tensor:
    """Gradient of the layer's weight from its inputs and the gradient at its output, summed over the images."""
    if isinstance(layer, nn.Conv2d):
        return torch.nn.grad.conv2d_weight(inputs, layer.weight.shape, out_grad, layer.stride, layer.padding,
                                           layer.dilation, layer.groups)  # [O, I / groups, kh, kw]
    return out_grad.t() @ inputs  # [O, I]


def cell_runs(cell: torch.Tensor) -> tuple[list[int], list[int]]:
    """Cell id and length of each run of equal consecutive entries of cell [R]."""
    ids, lengths = torch.unique_consecutive(cell, return_counts=True)
    return ids.tolist(), lengths.tolist()


def cell_aligned_chunks(cell: torch.Tensor, chunk: int) -> list[tuple[int, int]]:
    """(start, stop) chunks of at most ``chunk`` rows of cell [R] that split a run of one cell only when the run
    alone is longer than ``chunk``."""
    chunks, start, stop = [], 0, 0
    for length in cell_runs(cell)[1]:
        while length > 0:
            if stop - start == chunk or (stop > start and stop - start + length > chunk):
                chunks.append((start, stop))
                start = stop
            step = min(length, chunk - (stop - start))
            stop, length = stop + step, length - step
    return chunks + [(start, stop)] if stop > start else chunks


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
    """Per-cell gradients [K, D] as ``cell_gradients`` (detached), summed from each image's own weight gradients.

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


def cell_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor, labels: torch.Tensor,
                   create_graph: bool) -> torch.Tensor:
    """Per-cell gradients [K, D] of the mean cross-entropy of each cell's images w.r.t. the matched weights
    (``run_gradients`` summed per cell); x [R, C, H, W], cell, labels [R], sizes [K]."""
    ids, per_run = run_gradients(net, x, cell, sizes, labels, create_graph)
    return per_run.new_zeros(sizes.numel(), per_run.shape[1]).index_add(0, ids, per_run)


def _class_gradient_functions(skeleton: nn.Module) -> tuple[Callable, Callable, Callable]:
    """Compiled (class gradients, their vector-Jacobian product w.r.t. the images) for one architecture, and the
    product eager (for a backward whose compilation fails).

    class gradients: (state, x [C, n, ...], labels [C, n]) -> [C, D], each class's mean cross-entropy
    gradient w.r.t. the matched weights (``torch.func.grad`` vmapped over classes); the product takes a
    cotangent [C, D] and returns the images' gradient [C, n, ...] (a double backward, traced by torch.func,
    since compiled autograd graphs cannot be differentiated twice).
    """
    names = [f"{name}.weight" for name, module in skeleton.named_modules() if isinstance(module, MATCHED_LAYERS)]

    def class_gradients(state: dict, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        def mean_loss(weights: dict, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(torch.func.functional_call(skeleton, {**state, **weights}, (images,)), targets)

        matched = {name: state[name] for name in names}
        grads = torch.func.vmap(torch.func.grad(mean_loss), in_dims=(None, 0, 0))(matched, x, labels)
        return torch.cat([grads[name].flatten(1) for name in names], dim=1)  # [C, D]

    def images_gradient(state: dict, x: torch.Tensor, labels: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        _, pull_back = torch.func.vjp(lambda images: class_gradients(state, images, labels), x)
        return pull_back(cotangent)[0]  # [C, n, ...]

    return compile_function(class_gradients), compile_function(images_gradient), images_gradient


class _CompiledClassGradients(torch.autograd.Function):
    """Per-class gradients [C, D] of images [C, n, ...] whose backward is the compiled product (first order)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, labels: torch.Tensor, state: dict, functions: tuple) -> torch.Tensor:
        ctx.save_for_backward(x, labels)
        ctx.state, ctx.functions = state, functions
        return functions[0](state, x, labels)

    @staticmethod
    def backward(ctx, cotangent: torch.Tensor) -> tuple:
        x, labels = ctx.saved_tensors
        arguments = (ctx.state, x, labels, cotangent.contiguous())
        gradient = compiled_or_eager(lambda: ctx.functions[1](*arguments), lambda: ctx.functions[2](*arguments))
        return gradient, None, None, None


def compiled_class_gradients(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Each class's mean cross-entropy gradient w.r.t. the matched weights, compiled: x [C, n, ...] -> [C, D],
    differentiable w.r.t. x (once); the net's weights are held fixed."""
    functions = compiled_for(net, "class_gradients", _class_gradient_functions)
    labels = torch.arange(x.shape[0], device=x.device).unsqueeze(1).expand(x.shape[:2]).contiguous()  # [C, n]
    return _CompiledClassGradients.apply(x.contiguous(), labels, weights_of(net), functions)


def matrix_shapes(net: nn.Module) -> list[tuple[int, int]]:
    """(rows, columns) of each matched weight, in the order of ``cell_gradients``."""
    return [(layer.weight.shape[0], layer.weight[0].numel()) for layer in matched_layers(net)]


def rowwise_cosine_distance(u: torch.Tensor, v: torch.Tensor, shapes: list[tuple[int, int]]) -> torch.Tensor:
    """Sum over parameter rows of 1 - cos(u_row, v_row) (the DC 'ours' metric): [..., D] x [..., D] -> [...].

    ``shapes`` must cover D exactly (a ValueError otherwise), so a stale or missing layout never reads as 0."""
    width = sum(rows * cols for rows, cols in shapes)
    if u.shape[-1] != width or v.shape[-1] != width:
        raise ValueError(f"statistics of width {u.shape[-1]} and {v.shape[-1]} do not match the {width} weights "
                         f"of the layer shapes {shapes}")
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
    norms = ("instancenorm", "groupnorm", "none")  # per-image gradients need a norm that mixes no images
    cpu_chunk = 64  # measured with benchmarks/bench_step.py at quick sizes: see benchmarks/README.md

    def __init__(self, config: dict, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(config, image_shape, num_classes)
        ipc = int(config["ipc"])
        outer, inner = reference_loops(ipc)
        self.outer = int(self.distill["outer_loop"] or outer)
        self.inner = int(self.distill["inner_loop"] or inner)
        self.shapes: list[tuple[int, int]] = []

    def rounds(self) -> int:
        return self.outer

    def prepare(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, generator: torch.Generator) -> None:
        net.train()
        self.shapes = matrix_shapes(net)

    def between_rounds(self, net: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor,
                       generator: torch.Generator) -> None:
        """Train the network for ``inner`` epochs on the current synthetic set."""
        train_epochs(net, x_syn.detach(), y_syn, self.inner, lr=float(self.distill["lr_net"]), generator=generator,
                     batch=int(self.distill["batch_train"]))

    @staticmethod
    def sums_images(device: torch.device) -> bool:
        """Whether real cell gradients are summed from per-image ones (off the CPU: few large kernels) rather than
        from one weight-gradient convolution per run of a cell (CPU: less work); see benchmarks/README.md."""
        return device.type != "cpu"

    def real_statistics(self, net: nn.Module, x: torch.Tensor, batch: RealBatch, augment: Augment) -> torch.Tensor:
        sizes = batch.counts.flatten().to(x.device)  # [K]
        order = torch.argsort(batch.cell, stable=True).to(x.device)  # one run per cell (DF batches come by class)
        cell = batch.cell.to(x.device)[order]  # [R]
        labels, augmented = cell // batch.counts.shape[1], augment(x)[order]  # [R], [R, C, H, W]
        chunks = cell_aligned_chunks(cell, self.chunk_size(x.device))
        # on the CPU the chunks go to one thread per core, each with its own copy of the net (hooks are per module)
        threaded = x.device.type == "cpu" and min(len(chunks), torch.get_num_threads()) > 1
        copies: dict[int, nn.Module] = {}
        every_cell = torch.arange(sizes.numel(), device=x.device)  # [K]

        def chunk_gradients(bounds: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
            thread = threading.get_ident()
            if threaded and thread not in copies:
                copies[thread] = copy.deepcopy(net)
            own = copies[thread] if threaded else net
            start, stop = bounds
            if self.sums_images(x.device):
                return every_cell, image_summed_gradients(own, augmented[start:stop], cell[start:stop], sizes,
                                                          labels[start:stop])
            return run_gradients(own, augmented[start:stop], cell[start:stop], sizes, labels[start:stop],
                                 create_graph=False)

        results = single_threaded_pool(torch.get_num_threads()).map(chunk_gradients, chunks) if threaded else \
            map(chunk_gradients, chunks)
        total = None
        # the loss is a sum of per-image terms, so the chunks' rows add up to the whole batch's cell gradients;
        # they are added in chunk order whichever thread computed them, so the sum is deterministic
        with one_thread() if threaded else contextlib.nullcontext():
            for ids, rows in results:
                if total is None:
                    total = rows.new_zeros(sizes.numel(), rows.shape[1])  # [K, D]
                total.index_add_(0, ids, rows.detach())
        return total

    def synthetic_statistics(self, net: nn.Module, x_syn: torch.Tensor, augment: Augment) -> torch.Tensor:
        ipc = x_syn.shape[0] // self.num_classes
        augmented = augment(x_syn)  # [C * ipc, C, H, W]
        cell = torch.arange(self.num_classes, device=x_syn.device).repeat_interleave(ipc)  # [C * ipc]
        sizes = torch.full((self.num_classes,), ipc, device=x_syn.device)

        def eager() -> torch.Tensor:
            return cell_gradients(net, augmented, cell, sizes, cell, create_graph=True)

        if self.compiles(x_syn.device):
            return compiled_or_eager(
                lambda: compiled_class_gradients(net, augmented.view(self.num_classes, ipc, *x_syn.shape[1:])), eager)
        return eager()

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if not self.shapes:
            raise RuntimeError("DC.distance needs the net's layer shapes: call prepare(net, ...) first")
        return rowwise_cosine_distance(u, v, self.shapes)
