"""Distilled sets of every method and mode at smoke size, compared bitwise with the sets saved in
``tests/data/engine_golden.pt`` (written by ``python tests/engine_golden.py`` from the engine as it was before
the loops were restructured), so a change to how the engine is organised cannot change what it computes."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from engine_fixtures import random_grouped_data, smoke_config

from cobra_lab.accel.threads import one_thread
from cobra_lab.loops import distill

GOLDEN_FILE = Path(__file__).parent / "data" / "engine_golden.pt"
CASES = [(method, mode) for method in ("dm", "dc", "idc", "cafe") for mode in ("vanilla", "fairdd", "cobra", "df")]
CASES += [("mtt", mode) for mode in ("vanilla", "fairdd", "cobra")]
EXTRACTOR_CASE = ("dm", "cobra", "fair")  # distill.extractor: fair, the RF intervention's nets


def distilled(method: str, mode: str, extractor: str = "random") -> dict[str, torch.Tensor]:
    """The smoke set of ``method``/``mode`` on the engine tests' random data, distilled on one thread (the same
    bits on any number of cores): its images and losses."""
    options = {"extractor": extractor, "extractor_epochs": 1} if extractor != "random" else {}
    with tempfile.TemporaryDirectory() as root, one_thread():  # sums over threads' partial results differ by count
        synset = distill(random_grouped_data(), smoke_config(method, mode, **options), root,
                         Path(root) / "checkpoint.pt", progress=False)
    return {"x": synset.x, "losses": torch.tensor(synset.losses, dtype=torch.float64)}


def all_sets() -> dict[str, dict[str, torch.Tensor]]:
    """Every case's set, keyed ``method/mode`` (``dm/cobra/fair`` for the fair extractor)."""
    sets = {f"{method}/{mode}": distilled(method, mode) for method, mode in CASES}
    sets["/".join(EXTRACTOR_CASE)] = distilled(*EXTRACTOR_CASE)
    return sets


if __name__ == "__main__":
    GOLDEN_FILE.parent.mkdir(exist_ok=True)
    torch.save(all_sets(), GOLDEN_FILE)
    print(f"wrote {GOLDEN_FILE}", file=sys.stderr)
