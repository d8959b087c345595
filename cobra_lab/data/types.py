"""Typed containers for a biased, group-annotated image dataset."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .natural import class_skews


@dataclass
class Split:
    """One split: normalised images and, per image, class, true group and the group the distiller sees."""

    x: torch.Tensor  # [N, C, H, W] float32, normalised
    y: torch.Tensor  # [N] int64 class
    a: torch.Tensor  # [N] int64 true group (used for evaluation)
    a_observed: torch.Tensor  # [N] int64 group given to the distiller (noisy / imputed)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def counts(self, num_classes: int, num_groups: int, observed: bool = False) -> torch.Tensor:
        """Images per (class, group), as a [classes, groups] int64 table."""
        groups = self.a_observed if observed else self.a
        flat = self.y * num_groups + groups
        return torch.bincount(flat, minlength=num_classes * num_groups).view(num_classes, num_groups)


@dataclass
class GroupedData:
    """A biased benchmark: train and test splits plus the names and normalisation to read them."""

    name: str
    train: Split
    test: Split
    class_names: list[str]
    group_names: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    params: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_groups(self) -> int:
        return len(self.group_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.x.shape[1:])  # type: ignore[return-value]

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map normalised images [N, C, H, W] back to [0, 1] pixels for display."""
        mean = torch.tensor(self.mean, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(1, -1, 1, 1)
        return (x * std + mean).clamp(0, 1)

    def describe(self) -> dict:
        """Counts per (split, class, group), each class's SKEW (its share in its largest group) per split and the
        dataset's parameters, JSON-ready."""
        out: dict = {"name": self.name, "params": dict(self.params),
                     "classes": list(self.class_names), "groups": list(self.group_names),
                     "image_shape": list(self.image_shape)}
        for split_name, split in (("train", self.train), ("test", self.test)):
            counts = split.counts(self.num_classes, self.num_groups)
            entry = {"size": len(split), "counts": counts.tolist(), "skew": class_skews(counts).tolist()}
            if not torch.equal(split.a, split.a_observed):
                entry["observed_counts"] = split.counts(self.num_classes, self.num_groups, observed=True).tolist()
                entry["observed_group_accuracy"] = float((split.a == split.a_observed).float().mean())
            out[split_name] = entry
        return out
