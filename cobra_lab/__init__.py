"""cobra-lab: distill fair synthetic training sets and measure what the distillation target does to groups."""
from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy top-level API (keeps ``import cobra_lab`` and the CLI's start fast)."""
    if name == "distill":
        from .loops import distill
        return distill
    if name == "evaluate":
        from .evaluate import evaluate
        return evaluate
    if name == "load":
        from .data import load
        return load
    raise AttributeError(f"module 'cobra_lab' has no attribute {name!r}")


__all__ = ["distill", "evaluate", "load", "__version__"]
