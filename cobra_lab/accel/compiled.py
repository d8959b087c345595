"""Compiled passes for fresh nets: one ``torch.compile`` per architecture serves every net of a run.

The distill loop builds a new random net each iteration. Compiling a net's method itself would recompile
for every net, so each compiled function takes the weights as inputs (``torch.func.functional_call`` on a
skeleton copy of the architecture) and fixed shapes (a short last chunk is padded). Inductor fuses the norm,
ReLU and pooling into the convolutions' neighbours (benchmarks/bench_step.py times it); results agree with eager
to float rounding.

Compiling never stops a run: the first failure (no C++ compiler, a damaged cache, any codegen error) is reported
in one warning line and the process runs eager from then on. Compilers write their shared objects in place, so a
run killed mid-build leaves a truncated one that every later load would fail on; the project's compiler cache is
swept of such objects before this process first compiles.
"""
from __future__ import annotations

import copy
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ..errors import warn

_COMPILED: dict[tuple[str, str], object] = {}  # (what, architecture as its module repr) -> compiled function(s)
_STATE: dict[str, object] = {"cache": None, "failure": None}  # the swept cache folder; the first compile error
T = TypeVar("T")
# Log lines of torch's compilers that say nothing a user can act on: (logger, how the message starts).
UNACTIONABLE_LOGS = (
    ("torch.utils.cpp_extension", "No CUDA runtime is found"),  # a CUDA toolkit beside a CPU build of torch
)


class _DropMessages(logging.Filter):
    """Drops the log records whose message template starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def quiet_compiler_logs() -> None:
    """Drop UNACTIONABLE_LOGS at their loggers (set up before the compiler imports the module that logs them)."""
    for name, prefix in UNACTIONABLE_LOGS:
        logger = logging.getLogger(name)
        if not any(isinstance(known, _DropMessages) and known.prefix == prefix for known in logger.filters):
            logger.addFilter(_DropMessages(prefix))


def inductor_cache() -> Path:
    """The folder inductor compiles into: $TORCHINDUCTOR_CACHE_DIR when set, else cobra-lab's own folder in the
    user's cache ($XDG_CACHE_HOME or ~/.cache); exported so that inductor uses it."""
    if not os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(base / "cobra-lab" / "inductor")
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


ELF_SECTION_TABLE = {1: ("I", 0x20, 0x2E, 52), 2: ("Q", 0x28, 0x3A, 64)}  # class -> e_shoff type, offsets, header


def truncated_object(path: Path) -> bool:
    """Whether ``path`` is not a whole ELF object: empty, no ELF header, or shorter than its section table's end."""
    with open(path, "rb") as handle:
        header = handle.read(64)
    if header[:4] != b"\x7fELF" or len(header) < 6 or header[4] not in ELF_SECTION_TABLE:
        return True
    kind, offset_at, sizes_at, header_size = ELF_SECTION_TABLE[header[4]]
    if len(header) < header_size:
        return True
    order = "<" if header[5] == 1 else ">"
    (offset,) = struct.unpack_from(order + kind, header, offset_at)
    entry, count = struct.unpack_from(order + "HH", header, sizes_at)  # e_shentsize, e_shnum
    return path.stat().st_size < offset + entry * count


def sweep_cache(folder: Path) -> list[Path]:
    """Delete the truncated shared objects and object files under ``folder`` whose build is not running (inductor
    holds ``locks/<key>.lock`` while it builds ``<key>*.so``); inductor rebuilds them. Returns what was deleted."""
    from filelock import FileLock, Timeout  # what inductor locks its builds with

    removed = []
    for path in sorted([*folder.rglob("*.so"), *folder.rglob("*.o")]):
        try:
            with FileLock(str(folder / "locks" / f"{path.name.split('.')[0]}.lock"), timeout=0):
                if path.is_file() and truncated_object(path):
                    path.unlink()
                    removed.append(path)
        except (Timeout, OSError):
            continue  # being built now, or not ours to touch
    return removed


def compile_function(function: Callable) -> Callable:
    """``torch.compile(function)`` with fixed shapes, into the swept project cache."""
    if _STATE["cache"] is None:
        quiet_compiler_logs()
        _STATE["cache"] = inductor_cache()
        removed = sweep_cache(_STATE["cache"]) if _STATE["cache"].is_dir() else []
        if removed:
            warn(f"removed {len(removed)} truncated compiled object(s) from "
                 f"{_STATE['cache']} (left by an interrupted build); they are rebuilt")
    return torch.compile(function, dynamic=False)


def compilation_failed() -> bool:
    """Whether compiling has failed in this process (every pass then runs eager)."""
    return _STATE["failure"] is not None


def compiled_or_eager(compiled: Callable[[], T], eager: Callable[[], T]) -> T:
    """``compiled()``; when it raises (or compiling failed before), one warning line and ``eager()`` instead.
    An error of the computation itself is raised again by ``eager()``."""
    if _STATE["failure"] is None:
        try:
            return compiled()
        except Exception as error:  # noqa: BLE001 - any compiler or codegen failure: eager computes the same
            _STATE["failure"] = error
            reason = next((line for line in str(error).splitlines() if line.strip()), "")
            warn(f"compiling failed ({type(error).__name__}: {reason[:160]}); "
                 f"running eager (same results, slower)")
    return eager()


class _Embed(nn.Module):
    """``net.embed`` as a forward pass, so ``functional_call`` can run it."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x)


def compiled_for(net: nn.Module, what: str, build: Callable[[nn.Module], object]) -> object:
    """``build(skeleton)`` for ``net``'s architecture, built once from a copy of the net and kept."""
    key = (what, repr(net))
    if key not in _COMPILED:
        _COMPILED[key] = build(copy.deepcopy(net))
    return _COMPILED[key]


def weights_of(net: nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    """The net's parameters and buffers, detached, by name: the state a compiled skeleton runs with."""
    return {prefix + name: tensor.detach() for name, tensor in [*net.named_parameters(), *net.named_buffers()]}


def _compiled_embedding(net: nn.Module) -> Callable:
    """The compiled functional embedding of ``net``'s architecture, built on first use."""
    def build(copied: nn.Module) -> Callable:
        skeleton = _Embed(copied)

        def embed(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return torch.func.functional_call(skeleton, state, (x,))

        return compile_function(embed)

    return compiled_for(net, "embed", build)


def zero_padded(x: torch.Tensor, length: int, dim: int = 0) -> torch.Tensor:
    """x with zeros appended along ``dim`` up to ``length`` (x itself when it is that long already): one
    compiled shape for the short last chunk of a pass."""
    missing = length - x.shape[dim]
    if missing <= 0:
        return x
    return torch.cat([x, x.new_zeros(*x.shape[:dim], missing, *x.shape[dim + 1:])], dim)


def frozen_embedder(net: nn.Module, batch: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A compiled ``net.embed`` [r, C, H, W] -> [r, D] with the weights held fixed; gradients reach the input.

    With ``batch``, a shorter input is padded with zero images to ``batch`` rows (one compiled shape for
    every chunk of a real pass); the input is made contiguous, since each stride pattern compiles anew. When
    compiling fails it is ``net.embed``.
    """
    compiled = _compiled_embedding(net)
    state = weights_of(net, prefix="net.")

    def compiled_embed(x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[0]
        if batch is not None:
            x = zero_padded(x, batch)
        return compiled(state, x.contiguous())[:rows]

    def embed(x: torch.Tensor) -> torch.Tensor:
        return compiled_or_eager(lambda: compiled_embed(x), lambda: net.embed(x))

    return embed
