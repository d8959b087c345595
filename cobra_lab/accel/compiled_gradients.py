"""Each class's gradient w.r.t. a net's weight matrices, compiled with its image gradient (``torch.func``)."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .compiled import compile_function, compiled_for, compiled_or_eager, weights_of
from .gradients import MATCHED_LAYERS


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
