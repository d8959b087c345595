"""The typed run config: every key's type, range and default, checked when a config is resolved.

Each section of a resolved config is a ``Section`` (``options.py``) whose fields carry their check: data, net
and eval are below; the ``distill`` section is the method's own, declared beside its code in ``methods/`` and
found through the method registry (FULL has none). ``validate`` builds them from a config dict (a one-line
UserError for an unknown key, a missing key or a bad value), runs the rules that tie keys together (the
method's own ones too, ``Method.check_config``) and returns the plain dict that is stored beside a run and
hashed into its id, with every key present: readers index it and never carry defaults of their own. The
``later`` and ``execution`` flags of a field shape run ids (``identity``; see ``options.py``).

The checks that need the data itself (IPC against the class sizes, ConvNet depth against the image size) are
``check_fits``, run on the loaded data before anything is stored.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch

from .data import GroupedData
from .data.datasets import DATASETS
from .data.loader import resolve_params
from .errors import UserError, check_choice, check_int
from .methods import METHODS
from .modes import MODES
from .nets import convnet_max_depth
from .options import Section
from .sections import DataConfig, EvalConfig, NetConfig, RunConfig

FULL = "full"  # the method name of the undistilled baseline: train on the whole biased train set
MAX_SEED = 2**31 - 1


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


def distill_section(method: str) -> type[Section] | None:
    """The distill section class of ``method``, the one its class in the method registry declares (None for FULL
    and the selection baselines, which distill nothing)."""
    if method == FULL:
        return None
    check_choice("method", method, [*METHODS.names(), FULL])
    return METHODS.get(method).section


def takes_mode(method: str) -> bool:
    """Whether a config of ``method`` names a mode (FULL and the selection baselines do not)."""
    return method != FULL and METHODS.get(method).takes_mode


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
    dataset = check_choice("dataset", config.get("dataset"), DATASETS.names())
    method = check_choice("method", config.get("method"), [*METHODS.names(), FULL])
    data = DataConfig.build(config.get("data", {}))
    seed = check_int("seed", config.get("seed"), 0, MAX_SEED)
    resolved = resolve_params(dataset, DATASETS.build(dataset), seed=seed, **data.as_dict())
    data = DataConfig(**{key: resolved[key] for key in DataConfig.keys()})
    unset = ("mode", "ipc") if method == FULL else () if takes_mode(method) else ("mode",)
    reason = "distills nothing" if method == FULL else "selects real images"
    for key in unset:
        if config.get(key) is not None:
            raise UserError(f"method {method} {reason}: {key} must be null, got {config[key]!r}")
    mode = None if "mode" in unset else check_choice("mode", config.get("mode"), MODES.names())
    ipc = None if "ipc" in unset else check_int("ipc", config.get("ipc"), 1)
    distill = distill_section(method)
    if distill is None and "distill" in config:
        raise UserError(f"method {method} distills nothing: its config has no distill section")
    checked = RunConfig(
        dataset=dataset, data=data, method=method, mode=mode, ipc=ipc, seed=seed,
        profile=check_choice("profile", config.get("profile"), profiles),
        preset=None if config.get("preset") is None else check_choice("preset", config["preset"], presets),
        device=device("device", config.get("device")), net=NetConfig.build(config.get("net")),
        distill=None if distill is None else distill.build(config.get("distill")),
        eval=EvalConfig.build(config.get("eval")))
    _check_combinations(checked)
    return checked.as_dict()


def typed(config: dict) -> RunConfig:
    """A validated config dict as typed sections, for the loops, methods and evaluation to read as attributes."""
    distill = distill_section(config["method"])
    return RunConfig(dataset=config["dataset"], data=DataConfig(**config["data"]), method=config["method"],
                     mode=config["mode"], ipc=config["ipc"], seed=config["seed"], profile=config["profile"],
                     preset=config["preset"], device=config["device"], net=NetConfig(**config["net"]),
                     distill=None if distill is None else distill(**config["distill"]),
                     eval=EvalConfig(**config["eval"]))


def _check_combinations(config: RunConfig) -> None:
    """The rules that tie two options together: the method's nets, then its kind's and its own rules."""
    if config.method == FULL:
        return
    method = METHODS.get(config.method)
    if method.norms is not None and config.net.norm not in method.norms:
        raise UserError(f"method {config.method} needs a per-image norm ({', '.join(method.norms)}), "
                        f"not net.norm={config.net.norm}")
    if method.archs is not None and config.net.arch not in method.archs:
        raise UserError(f"method {config.method} distills with net.arch {' or '.join(method.archs)}, "
                        f"not {config.net.arch} (eval.arch may name another)")
    method.check(config)


def identity(config: dict) -> dict:
    """What a run id hashes: the config with its execution options at their defaults and its later options left
    out where they sit at their defaults or earlier values (see the module docstring)."""
    kept = copy.deepcopy(config)
    for cls in sections(config["method"]):
        section = kept.get(cls.name)
        if not isinstance(section, dict):
            continue
        for key, default in cls.flagged("execution").items():
            if key in section:
                section[key] = default
        for key, values in cls.unhashed().items():
            if key in section and section[key] in values:
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
    """The checks that need the data: IPC against the smallest class and the smallest group of the train split,
    and a ConvNet's depth against the image size; a one-line UserError, raised before anything is stored."""
    if config["method"] != FULL:
        sizes = torch.bincount(data.train.y, minlength=data.num_classes)  # [C]
        smallest = int(sizes.min())
        if config["ipc"] > smallest:
            raise UserError(f"ipc {config['ipc']} is more than the {smallest} train images of the smallest class "
                            f"of {config['dataset']}; use ipc <= {smallest}")
        groups = torch.bincount(data.train.a_observed, minlength=data.num_groups)  # [G]
        held = groups[groups > 0]
        if config["ipc"] > int(held.min()):
            name = data.group_names[int((groups == held.min()).nonzero()[0])]
            raise UserError(f"ipc {config['ipc']} is more than the {int(held.min())} train images of group {name!r} "
                            f"of {config['dataset']}; use ipc <= {int(held.min())}")
    size = data.image_shape[-1]
    if config["net"]["arch"] == "convnet" and config["net"]["depth"] > convnet_max_depth(size):
        raise UserError(f"net.depth={config['net']['depth']} halves a {size} px image below one pixel; "
                        f"use net.depth <= {convnet_max_depth(size)}")


__all__ = ["FULL", "check_fits", "complete_method_section", "distill_section", "identity", "sections", "takes_mode",
           "typed", "validate", "with_defaults"]
