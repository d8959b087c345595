"""The typed sections of a run config (data, net, eval; a method's ``distill`` section lives beside its code in
``methods/``) and ``RunConfig``, a resolved config as those typed sections.

The schema (``schema.py``) checks a config dict against these and keeps the plain dict for hashing, storing and
printing; loops, methods and evaluation receive a ``RunConfig`` and read attributes (``config.distill.iterations``),
never casting or defaulting a value themselves."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .augment import DEFAULT_STRATEGY
from .nets import NETS, NORMS
from .options import Section, auto_or, boolean, dsa_strategy, integer, one_of, option, optional, positive, sha256_digest

MAX_WIDTH = 2048  # ConvNet channels; the paper uses 128


@dataclass(frozen=True, kw_only=True)
class DataConfig(Section):
    """The bias, group and painting options of the dataset. Their ranges depend on the dataset (the skew's
    lower bound is 1 / groups; natural-group sets take no skew or gap; only some sets have a reference
    painting), so ``data.loader.resolve_params`` checks them."""

    name: ClassVar[str] = "data"
    skew: float | None = option(lambda name, value: value, None)  # None: the loader's default (0.9)
    gap: int = option(lambda name, value: value, 0)
    semantic_gap: float = option(lambda name, value: value, 0.0)
    group_noise: float = option(lambda name, value: value, 0.0)
    known_groups: float = option(lambda name, value: value, 1.0)
    render: str = option(lambda name, value: value, "clean", later=True)
    # how unknown group labels are imputed (None where all are known); runs stored before it imputed pooled_kmeans
    imputation: str | None = option(lambda name, value: value, None, later=True, earlier=("pooled_kmeans",))
    # a dataset of your own: the digest of its files, filled in when resolved, so a run of changed files is new
    content: str | None = option(optional(sha256_digest), None, later=True)


@dataclass(frozen=True, kw_only=True)
class NetConfig(Section):
    """The network distilled with (and evaluated with, unless eval.arch names another)."""

    name: ClassVar[str] = "net"
    arch: str = option(one_of(NETS.names))
    width: int = option(integer(1, MAX_WIDTH))
    depth: int = option(integer(1, 16))  # check_fits bounds it by the image size
    norm: str = option(one_of(NORMS))

    @property
    def options(self) -> dict:
        """The architecture's options (everything but ``arch``), as ``nets.build`` takes them."""
        return {key: value for key, value in self.as_dict().items() if key != "arch"}


@dataclass(frozen=True, kw_only=True)
class EvalConfig(Section):
    """How the evaluation nets are trained and tested."""

    name: ClassVar[str] = "eval"
    epochs: int = option(integer(1))
    runs: int = option(integer(1))
    lr: float = option(positive)
    batch: int = option(integer(1))
    dsa: bool = option(boolean)
    dsa_strategy: str = option(dsa_strategy, DEFAULT_STRATEGY, later=True)
    max_test: int | None = option(optional(integer(1)), None, later=True)
    arch: str | None = option(optional(one_of(NETS.names)), None, later=True)
    group_weighting: str = option(one_of(("none", "balanced")), "none", later=True)
    ensemble: bool = option(boolean, True, later=True, execution=True)
    compile: bool = option(boolean, False, later=True, execution=True)
    chunk: int | str = option(auto_or(integer(1)), "auto", later=True, execution=True)


@dataclass(frozen=True)
class RunConfig:
    """A resolved run config as typed sections (``schema.typed`` builds one); ``as_dict`` gives back the plain dict
    that is hashed into run ids, stored and printed. ``distill`` is the method's own section (None for the full
    baseline, which distills nothing), as are ``mode`` and ``ipc``."""

    dataset: str
    data: DataConfig
    method: str
    mode: str | None
    ipc: int | None
    seed: int
    profile: str
    preset: str | None
    device: str
    net: NetConfig
    distill: Section | None
    eval: EvalConfig

    def as_dict(self) -> dict:
        """The plain config dict (the schema's validated form)."""
        out = {key: getattr(self, key) for key in ("dataset", "method", "mode", "ipc", "seed", "profile", "preset",
                                                    "device")}
        sections = {"data": self.data, "net": self.net, "distill": self.distill, "eval": self.eval}
        return {**out, **{key: section.as_dict() for key, section in sections.items() if section is not None}}
