"""A distilled set: its images, labels and provenance, how it is checked when read back, how it starts, and the
images evaluation nets train on (a method's decoding of the stored ones)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .data.types import GroupedData
from .integrity import expect, expect_tensor
from .methods import METHODS
from .sections import RunConfig


@dataclass
class SynSet:
    """A distilled set: images [C * ipc, C, H, W] (normalised), labels [C * ipc] and where they came from."""

    x: torch.Tensor
    y: torch.Tensor
    init_index: torch.Tensor  # [C * ipc] train rows the images started from (-1: noise)
    init_group: torch.Tensor  # [C * ipc] observed group of those rows (-1: noise)
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def state(self) -> dict:
        """Tensors and numbers only, for ``torch.save`` / ``weights_only`` loading."""
        return {"x": self.x, "y": self.y, "init_index": self.init_index, "init_group": self.init_group,
                "losses": torch.tensor(self.losses), "seconds": torch.tensor(self.seconds, dtype=torch.float64)}

    @classmethod
    def from_state(cls, state: dict) -> "SynSet":
        """Rebuild a SynSet saved with ``state()``."""
        return cls(state["x"], state["y"], state["init_index"], state["init_group"],
                   state["losses"].tolist(), float(state["seconds"]))


def decoded(synset: SynSet, config: RunConfig, num_classes: int) -> SynSet:
    """The set evaluation nets train on: the method's decoding of the stored images (``Method.decode``; the
    stored set itself for most methods), each decoded image with the label and provenance of its stored image."""
    method = METHODS.build(config.method, config, tuple(synset.x.shape[1:]), num_classes)
    with torch.no_grad():
        x = method.decode(synset.x)  # [C * ipc * k, C, H, W]
    k = x.shape[0] // synset.x.shape[0]
    if k == 1:
        return synset
    return replace(synset, x=x, y=synset.y.repeat_interleave(k), init_index=synset.init_index.repeat_interleave(k),
                   init_group=synset.init_group.repeat_interleave(k))


def check_synset_state(state: object, config: RunConfig, num_classes: int, image_shape: tuple[int, ...]) -> None:
    """Raise ``Mismatch`` unless ``state`` is a distilled set of ``config``: ipc * classes finite images of the
    dataset's shape, the per-class labels in class blocks, and one loss per iteration (none for a selection)."""
    expect(isinstance(state, dict), "does not hold a distilled set")
    count = num_classes * config.ipc
    expect_tensor(state, "x", (count, *image_shape), floating=True)  # [C * ipc, C, H, W]
    labels = expect_tensor(state, "y", (count,))
    expect(torch.equal(labels.long(), torch.arange(num_classes).repeat_interleave(config.ipc)),
           f"y is not {config.ipc} labels per class in class blocks")
    expect_tensor(state, "init_index", (count,))
    expect_tensor(state, "init_group", (count,))
    iterations = 0 if config.distill is None else config.distill.iterations  # a selection has none
    expect_tensor(state, "losses", (iterations,), floating=True)
    seconds = expect_tensor(state, "seconds", ())
    expect(float(seconds) >= 0, "seconds is negative")


def initial_set(data: GroupedData, ipc: int, init: str, generator: torch.Generator) -> SynSet:
    """The starting set in class blocks [C * ipc, ...]: random real images of each class, or N(0, 1) noise."""
    rows = []
    for label in range(data.num_classes):
        members = torch.nonzero(data.train.y == label).flatten()
        rows.append(members[torch.randperm(members.numel(), generator=generator)[:ipc]])
        if rows[-1].numel() < ipc:
            rows[-1] = members[torch.randint(members.numel(), (ipc,), generator=generator)]
    index = torch.cat(rows)  # [C * ipc]
    labels = torch.arange(data.num_classes).repeat_interleave(ipc)
    if init == "noise":
        noise = torch.randn((index.numel(), *data.image_shape), generator=generator)
        return SynSet(noise, labels, torch.full_like(index, -1), torch.full_like(index, -1))
    return SynSet(data.train.x[index].clone(), labels, index, data.train.a_observed[index])
