"""The typed run config: every key's type, range and default in one place, checked when a config is resolved.

Each section of a resolved config is a dataclass below whose fields carry their check. ``validate`` builds
them from a config dict (a one-line UserError for an unknown key, a missing key or a bad value) and returns the
plain dict that is stored beside a run and hashed into its id, with every key present: readers index it and
never carry defaults of their own. Two field flags shape run ids (``identity``):

- ``later``: the option was added after runs were first stored; at its default it is left out of run ids, so
  the runs stored before it existed are still found;
- ``execution``: the option changes how a run is computed, not what (results agree to float rounding, and the
  same value and seed give the same result): run ids hash its default whatever its value, or leave it out
  when it is also ``later``.

The checks that need the data itself (IPC against the class sizes, ConvNet depth against the image size) are
``check_fits``, run on the loaded data before anything is stored.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch

from .augment import DEFAULT_STRATEGY, DSA
from .barycenter import DISCREPANCIES
from .data import DATASETS, GroupedData
from .data.benchmarks import BENCHMARKS
from .data.loader import resolve_params
from .errors import UserError, check_bool, check_choice, check_int, check_positive, check_range
from .methods import METHODS
from .methods.dm import DISTANCES
from .modes import FAIRDD_REDUCTIONS, MODES
from .nets import NETS, NORMS, convnet_max_depth

FULL = "full"  # the method name of the undistilled baseline: train on the whole biased train set
MAX_SEED = 2**31 - 1
MAX_WIDTH = 2048  # ConvNet channels; the paper uses 128

Check = Callable[[str, Any], Any]


# --- checks: (dotted name, value) -> the value, normalised; a one-line UserError when it is bad --------------
def integer(low: int, high: int | None = None) -> Check:
    """An integer in [low, high]."""
    return lambda name, value: check_int(name, value, low, high)


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    return check_positive(name, value)


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return check_range(name, value, 0, float("inf"), below_high=True)


def fraction_below_one(name: str, value: Any) -> float:
    """A finite number in [0, 1)."""
    return check_range(name, value, 0, 1, below_high=True)


def boolean(name: str, value: Any) -> bool:
    """true or false."""
    return check_bool(name, value)


def one_of(names: Iterable[str] | Callable[[], Iterable[str]]) -> Check:
    """One of ``names`` (a callable is asked when checking, so registries filled later count)."""
    return lambda name, value: check_choice(name, value, names() if callable(names) else names)


def optional(check: Check) -> Check:
    """None (null), or a value ``check`` accepts."""
    return lambda name, value: None if value is None else check(name, value)


def auto_or(check: Check) -> Check:
    """The word ``auto``, or a value ``check`` accepts."""
    return lambda name, value: value if value == "auto" else check(name, value)


def dsa_strategy(name: str, value: Any) -> str:
    """DSA op groups joined by ``_`` (color, crop, cutout, flip, scale, rotate)."""
    if not isinstance(value, str):
        raise UserError(f"{name} must be DSA ops joined by '_', got {value!r}")
    DSA(value)  # raises a UserError naming an unknown op
    return value


def iterations_list(name: str, value: Any) -> list[int]:
    """A list of increasing iteration numbers >= 1."""
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{name} must be a list of iteration numbers, got {value!r}")
    steps = [check_int(name, step, 1) for step in value]
    if steps != sorted(set(steps)):
        raise UserError(f"{name} must be increasing iteration numbers, got {value!r}")
    return steps


def layer_weights(name: str, value: Any) -> list[float]:
    """A non-empty list of finite numbers >= 0."""
    if not isinstance(value, (list, tuple)) or not value:
        raise UserError(f"{name} must be a list of layer weights, got {value!r}")
    return [non_negative(name, weight) for weight in value]


def device(name: str, value: Any) -> str:
    """auto, cpu, cuda or cuda:N; a CUDA device must be there."""
    if value in ("auto", "cpu"):
        return value
    kind, colon, index = str(value).partition(":")
    if not isinstance(value, str) or kind != "cuda" or (colon and not index.isdigit()):
        raise UserError(f"{name} must be auto, cpu, cuda or cuda:N, got {value!r}")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count <= int(index or 0):
        raise UserError(f"{name}={value} asked, but this machine has {count} CUDA device(s); use auto or cpu")
    return value


def option(check: Check, default: Any = dataclasses.MISSING, *, later: bool = False,
           execution: bool = False) -> Any:
    """A config field: its check, its default (none: the profile must set it) and its run-id flags."""
    return field(default=default, metadata={"check": check, "later": later, "execution": execution})


# --- sections -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Section:
    """A config section; building one checks and normalises every field."""

    name: ClassVar[str]

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = spec.metadata["check"](f"{self.name}.{spec.name}", getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)

    @classmethod
    def build(cls, values: Any) -> "Section":
        """The section from a dict: an unknown or missing key is a one-line UserError."""
        if not isinstance(values, dict):
            raise UserError(f"{cls.name} must be a mapping of {', '.join(cls.keys())}, got {values!r}")
        unknown = sorted(set(values) - set(cls.keys()))
        if unknown:
            raise UserError(f"unknown config key '{cls.name}.{unknown[0]}'; known here: {', '.join(cls.keys())}")
        missing = [key for key in cls.keys() if key not in values and key not in cls.defaults()]
        if missing:
            raise UserError(f"config key '{cls.name}.{missing[0]}' is missing: the profile must set it")
        return cls(**values)

    @classmethod
    def keys(cls) -> list[str]:
        return [spec.name for spec in fields(cls)]

    @classmethod
    def defaults(cls) -> dict:
        """The fields a profile may leave out, with their defaults."""
        return {spec.name: spec.default for spec in fields(cls) if spec.default is not dataclasses.MISSING}

    @classmethod
    def flagged(cls, flag: str) -> dict:
        """The fields with ``flag`` (later, execution) set, with their defaults."""
        return {spec.name: spec.default for spec in fields(cls) if spec.metadata[flag]}

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.keys()}


@dataclass(frozen=True, kw_only=True)
class DataConfig(Section):
    """The bias and group options of the dataset. Their ranges depend on the benchmark (the skew's lower bound
    is 1 / groups; natural-group sets take no skew or gap), so ``data.loader.resolve_params`` checks them."""

    name: ClassVar[str] = "data"
    skew: float | None = option(lambda name, value: value, None)  # None: the loader's default (0.9)
    gap: int = option(lambda name, value: value, 0)
    semantic_gap: float = option(lambda name, value: value, 0.0)
    group_noise: float = option(lambda name, value: value, 0.0)
    known_groups: float = option(lambda name, value: value, 1.0)


@dataclass(frozen=True, kw_only=True)
class NetConfig(Section):
    """The network distilled with (and evaluated with, unless eval.arch names another)."""

    name: ClassVar[str] = "net"
    arch: str = option(one_of(NETS.names))
    width: int = option(integer(1, MAX_WIDTH))
    depth: int = option(integer(1, 16))  # check_fits bounds it by the image size
    norm: str = option(one_of(NORMS))


@dataclass(frozen=True, kw_only=True)
class DistillConfig(Section):
    """What every distillation method takes."""

    name: ClassVar[str] = "distill"
    iterations: int = option(integer(1))
    lr_img: float = option(positive)
    momentum: float = option(fraction_below_one)
    real_per_class: int = option(integer(1))
    init: str = option(one_of(("real", "noise")))
    dsa: bool = option(boolean)
    dsa_strategy: str = option(dsa_strategy)
    lr_net: float = option(positive)
    batch_train: int = option(integer(1))
    real_chunk: int | str = option(auto_or(integer(1)), "auto", execution=True)
    compile: bool = option(boolean, False, later=True, execution=True)
    discrepancy: str = option(one_of(DISCREPANCIES), "sq", later=True)
    extractor: str = option(one_of(("random", "fair")), "random", later=True)
    extractor_epochs: int = option(integer(1), 1, later=True)
    lr_img_halve_at: list[int] | None = option(optional(iterations_list), None, later=True)
    fairdd_reduction: str = option(one_of(FAIRDD_REDUCTIONS), "sum", later=True)


@dataclass(frozen=True, kw_only=True)
class DMDistill(DistillConfig):
    """DM's own options."""

    distance: str = option(one_of(DISTANCES))
    warmup_epochs: int = option(integer(0))


@dataclass(frozen=True, kw_only=True)
class DCDistill(DistillConfig):
    """DC's own options (null loops: the reference table for the IPC)."""

    outer_loop: int | None = option(optional(integer(1)))
    inner_loop: int | None = option(optional(integer(1)))


@dataclass(frozen=True, kw_only=True)
class CAFEDistill(DistillConfig):
    """CAFE's own options (null loops: the reference table for the IPC). ``layer_weights`` weigh the aligned
    layers: one per ConvNet block, then the last pooled map, then the embedding (the same numbers flattened).
    CAFE has no compiled passes, so ``compile`` changes nothing for it."""

    outer_loop: int | None = option(optional(integer(1)))
    inner_loop: int | None = option(optional(integer(1)))
    layer_weights: list[float] = option(layer_weights)
    discrimination_weight: float = option(non_negative)
    average_classes: bool = option(boolean, False)


@dataclass(frozen=True, kw_only=True)
class IDCDistill(DCDistill):
    """IDC's own options: DC's loops (null outer: 10 at IPC 10, 30 at IPC 50 and 100, as COBRA's IDC runs;
    null inner: the net is never trained) and the multi-formation factor."""

    factor: int = option(integer(1, 8), 2)


@dataclass(frozen=True, kw_only=True)
class MTTDistill(Section):
    """MTT's options: expert trajectories (trained once per data, net and these ``expert_*`` settings, shared by
    every run that needs them) and the matching of a student unrolled on the synthetic set against them."""

    name: ClassVar[str] = "distill"
    iterations: int = option(integer(1))
    syn_steps: int = option(integer(1))  # N: student steps on the synthetic set per iteration
    expert_epochs: int = option(integer(1))  # M: the target is the expert checkpoint M epochs after the start
    max_start_epoch: int = option(integer(1))  # the start epoch t is drawn from 0 .. max_start_epoch - 1
    lr_img: float = option(positive)
    lr_lr: float = option(positive)  # the learning rate of the student's learnable learning rate
    lr_teacher: float = option(positive)  # the student's learning rate at the start
    momentum: float = option(fraction_below_one)  # of both optimisers (images, student learning rate)
    batch_syn: int | None = option(optional(integer(1)))  # synthetic images per student step (null: all)
    init: str = option(one_of(("real", "noise")))
    dsa: bool = option(boolean)
    dsa_strategy: str = option(dsa_strategy)
    experts: int = option(integer(1))  # expert trajectories per set (per group for cobra) drawn from
    expert_train_epochs: int = option(integer(1))
    expert_lr: float = option(positive)
    expert_batch: int = option(integer(1))
    expert_dsa: bool = option(boolean)
    expert_per_class: int | None = option(optional(integer(1)))  # a seeded training subset (null: all)
    expert_balance: str = option(one_of(("none", "classes")))  # "classes": each class weighs the same per expert


DISTILL_SECTIONS: dict[str, type[Section]] = {"dm": DMDistill, "dc": DCDistill, "idc": IDCDistill,
                                             "cafe": CAFEDistill, "mtt": MTTDistill}


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


def distill_section(method: str) -> type[Section] | None:
    """The distill section class of ``method`` (None for FULL, which distills nothing)."""
    if method == FULL:
        return None
    check_choice("method", method, [*METHODS.names(), FULL])
    if method not in DISTILL_SECTIONS:
        raise UserError(f"method {method!r} has no distill section in cobra_lab/schema.py")
    return DISTILL_SECTIONS[method]


def sections(method: str) -> list[type[Section]]:
    """The section classes of a config of ``method``."""
    distill = distill_section(method)
    return [DataConfig, NetConfig, *([distill] if distill else []), EvalConfig]


# --- whole configs -----------------------------------------------------------------------------------------------
TOP_LEVEL = ("dataset", "data", "method", "mode", "ipc", "seed", "profile", "preset", "device", "net", "distill",
             "eval")


def complete_method_section(method: str, section: dict) -> dict:
    """A profile's ``methods.<method>`` section with the options it leaves out at their defaults."""
    completed = copy.deepcopy(section)
    for cls in sections(method):
        if cls.name in completed and isinstance(completed[cls.name], dict):
            completed[cls.name] = {**cls.defaults(), **completed[cls.name]}
    return completed


def validate(config: dict, profiles: Iterable[str], presets: Iterable[str]) -> dict:
    """``config`` checked against the schema, every value normalised (ints, floats, the dataset's resolved
    bias options); a one-line UserError for the first bad key or value."""
    unknown = sorted(set(config) - set(TOP_LEVEL))
    if unknown:
        raise UserError(f"unknown config key {unknown[0]!r}; known: {', '.join(TOP_LEVEL)}")
    dataset = check_choice("dataset", config.get("dataset"), DATASETS)
    method = check_choice("method", config.get("method"), [*METHODS.names(), FULL])
    distilled = method != FULL
    out: dict = {"dataset": dataset}
    data = DataConfig.build(config.get("data", {}))
    seed = check_int("seed", config.get("seed"), 0, MAX_SEED)
    resolved = resolve_params(dataset, BENCHMARKS.build(dataset), seed=seed, **data.as_dict())
    out["data"] = {key: resolved[key] for key in DataConfig.keys()}
    out["method"] = method
    if distilled:
        out["mode"] = check_choice("mode", config.get("mode"), MODES.names())
        out["ipc"] = check_int("ipc", config.get("ipc"), 1)
    else:
        for key in ("mode", "ipc"):
            if config.get(key) is not None:
                raise UserError(f"method full distills nothing: {key} must be null, got {config[key]!r}")
        out["mode"] = out["ipc"] = None
    out["seed"] = seed
    out["profile"] = check_choice("profile", config.get("profile"), profiles)
    out["preset"] = None if config.get("preset") is None else check_choice("preset", config["preset"], presets)
    out["device"] = device("device", config.get("device"))
    out["net"] = NetConfig.build(config.get("net")).as_dict()
    distill = distill_section(method)
    if distill is not None:
        out["distill"] = distill.build(config.get("distill")).as_dict()
    elif "distill" in config:
        raise UserError("method full distills nothing: its config has no distill section")
    out["eval"] = EvalConfig.build(config.get("eval")).as_dict()
    _check_combinations(out)
    return out


def _check_combinations(config: dict) -> None:
    """The rules that tie two options together."""
    if config["method"] == FULL:
        return
    if config["method"] == "mtt":
        _check_mtt(config)
    discrepancy = config["distill"].get("discrepancy", "sq")
    if discrepancy != "sq" and config["mode"] != "cobra":
        raise UserError(f"distill.discrepancy={discrepancy} needs mode cobra (it shapes COBRA's barycenter)")
    norms = METHODS.get(config["method"]).norms
    if norms is not None and config["net"]["norm"] not in norms:
        raise UserError(f"method {config['method']} needs a per-image norm ({', '.join(norms)}), "
                        f"not net.norm={config['net']['norm']}")
    archs = METHODS.get(config["method"]).archs
    if archs is not None and config["net"]["arch"] not in archs:
        raise UserError(f"method {config['method']} distills with net.arch {' or '.join(archs)}, "
                        f"not {config['net']['arch']} (eval.arch may name another)")
    if "layer_weights" in config["distill"] and len(config["distill"]["layer_weights"]) != config["net"]["depth"] + 2:
        raise UserError(f"distill.layer_weights needs net.depth + 2 = {config['net']['depth'] + 2} weights (one per "
                        f"block, the pooled map, the embedding), got {len(config['distill']['layer_weights'])}")


def _check_mtt(config: dict) -> None:
    """MTT's rules: its modes, and targets that lie within the expert trajectories."""
    settings = config["distill"]
    if config["mode"] not in ("vanilla", "cobra", "fairdd"):
        raise UserError(f"method mtt has no mode {config['mode']}: use vanilla, cobra or fairdd (our per-group "
                        f"analogue; the paper has no FairDD-MTT)")
    last = settings["max_start_epoch"] - 1 + settings["expert_epochs"]
    if last > settings["expert_train_epochs"]:
        raise UserError(f"distill.max_start_epoch - 1 + distill.expert_epochs = {last} is past the experts' "
                        f"{settings['expert_train_epochs']} epochs (distill.expert_train_epochs)")


def identity(config: dict) -> dict:
    """What a run id hashes: the config with its execution options at their defaults and its later options left
    out where they sit at their defaults (see the module docstring)."""
    kept = copy.deepcopy(config)
    for cls in sections(config["method"]):
        section = kept.get(cls.name)
        if not isinstance(section, dict):
            continue
        for key, default in cls.flagged("execution").items():
            if key in section:
                section[key] = default
        for key, default in cls.flagged("later").items():
            if key in section and section[key] == default:
                del section[key]
    return kept


def with_defaults(config: dict) -> dict:
    """A stored config with the options added since it was stored at their defaults (its run id unchanged)."""
    completed = copy.deepcopy(config)
    for cls in sections(config["method"]):
        if isinstance(completed.get(cls.name), dict):
            completed[cls.name] = {**cls.defaults(), **completed[cls.name]}
    return completed


def check_fits(config: dict, data: GroupedData) -> None:
    """The checks that need the data: IPC against the smallest class of the train split, and a ConvNet's depth
    against the image size; a one-line UserError, raised before anything is stored."""
    if config["method"] != FULL:
        sizes = torch.bincount(data.train.y, minlength=data.num_classes)  # [C]
        smallest = int(sizes.min())
        if config["ipc"] > smallest:
            raise UserError(f"ipc {config['ipc']} is more than the {smallest} train images of the smallest class "
                            f"of {config['dataset']}; use ipc <= {smallest}")
    size = data.image_shape[-1]
    if config["net"]["arch"] == "convnet" and config["net"]["depth"] > convnet_max_depth(size):
        raise UserError(f"net.depth={config['net']['depth']} halves a {size} px image below one pixel; "
                        f"use net.depth <= {convnet_max_depth(size)}")


__all__ = ["FULL", "DataConfig", "NetConfig", "DistillConfig", "DMDistill", "DCDistill", "IDCDistill", "CAFEDistill",
           "MTTDistill",
           "EvalConfig", "check_fits", "complete_method_section", "identity", "validate", "with_defaults"]
