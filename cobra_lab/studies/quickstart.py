"""Quickstart (notebook 00): vanilla, FairDD and COBRA on one biased benchmark, the central effect."""
from __future__ import annotations

from .grids import STUDIES, base_grid


@STUDIES.register("00_quickstart")
def grid(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int,
         skew: float | None = None, gap: int = 0) -> list[dict]:
    """Vanilla, FairDD and COBRA on one dataset: the central effect."""
    return [{**base_grid(profile, [dataset], [method], modes, ipc, seed), "data": {"skew": skew, "gap": gap}}]
