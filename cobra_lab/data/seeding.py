"""Named, independent random streams derived from one dataset seed."""
from __future__ import annotations

import hashlib

import torch


def generator(seed: int, stream: str) -> torch.Generator:
    """A torch generator for the random stream ``stream`` of ``seed``, independent of call order."""
    digest = hashlib.sha256(f"{seed}:{stream}".encode("utf-8")).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
