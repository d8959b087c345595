"""The registry of study grid builders (each study module registers its own under its notebook's name) and the
grid entries every study shares."""
from __future__ import annotations

from ..registry import Registry

STUDIES: Registry[list[dict]] = Registry("study")


def base_grid(profile: str, datasets: list[str], methods: list[str], modes: list[str], ipc: list[int] | int,
              seeds: list[int] | int, runs: int | None = None, full: bool = False) -> dict:
    """The grid entries every study shares."""
    return {"profile": profile, "datasets": datasets, "methods": methods, "modes": modes, "ipc": ipc,
            "seeds": seeds, "runs": runs, "full": full}
