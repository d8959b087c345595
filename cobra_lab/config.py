"""Resolve a run's full config from a profile in params/, an optional preset and explicit overrides.

Every key's type, range and default lives in ``schema.py`` (a method's ``distill`` options in its module under
``methods/``); ``resolve`` assembles a config and has the schema check it, so a resolved config holds every key
with a checked value."""
from __future__ import annotations

import contextlib
import copy
import functools
from pathlib import Path

import yaml

from .errors import UserError, check_choice
from .paths import repo_root
from .schema import FULL, complete_method_section, identity, takes_mode, validate
from .sections import DataConfig

PARAMS_DIR = repo_root() / "params"


def params_dir() -> Path:
    """The folder holding profiles/ and presets.yaml (the repository's params/)."""
    return PARAMS_DIR


def profile_names() -> list[str]:
    """Profiles available in params/profiles/."""
    return sorted(path.stem for path in (params_dir() / "profiles").glob("*.yaml"))


def _read_yaml(path: Path) -> object:
    """The YAML file ``path``, parsed once per version of the file (a sweep resolves thousands of configs)."""
    return copy.deepcopy(_parsed(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, mtime_ns: int) -> object:
    return yaml.safe_load(path.read_text())


def load_profile(name: str) -> dict:
    """The profile ``name`` as a dict, each method's section completed with the schema's defaults."""
    check_choice("profile", name, profile_names())
    profile = _read_yaml(params_dir() / "profiles" / f"{name}.yaml")
    profile["methods"] = {method: complete_method_section(method, section)
                          for method, section in profile["methods"].items()}
    tiers = profile.get("from_ipc") or {}
    if not isinstance(tiers, dict) or not all(
            isinstance(tier, int) and tier > 0 and isinstance(methods, dict) and set(methods) <= set(profile["methods"])
            for tier, methods in tiers.items()):
        raise UserError(f"profile {name}: from_ipc maps IPCs (positive integers) to sections of the profile's "
                        f"methods ({', '.join(profile['methods'])}), got {tiers!r}")
    return profile


def _ipc_settings(profile: dict, method: str, ipc: int) -> dict:
    """What a profile changes for ``method`` from an IPC on: its ``from_ipc`` tiers at or below ``ipc``, merged
    in ascending order (a larger set of images per class can need, say, a larger image learning rate)."""
    tiers = profile.get("from_ipc") or {}
    settings: dict = {}
    for tier in sorted(tiers):
        if tier <= ipc:
            settings = deep_merge(settings, tiers[tier].get(method, {}))
    return settings


def load_presets() -> dict:
    """All presets from params/presets.yaml."""
    return _read_yaml(params_dir() / "presets.yaml") or {}


def deep_merge(base: dict, overlay: dict) -> dict:
    """A copy of ``base`` with ``overlay`` merged in, recursively for nested dicts."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def set_dotted(config: dict, dotted: str, value: object) -> None:
    """Set ``config['a']['b'] = value`` for ``dotted='a.b'``; an unknown key or a whole section is a UserError."""
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise UserError(f"unknown config key {dotted!r}")
        node = node[part]
    if parts[-1] not in node:
        raise UserError(f"unknown config key {dotted!r}; known here: {', '.join(sorted(node))}")
    if isinstance(node[parts[-1]], dict):
        raise UserError(f"{dotted} is a section; set one of its keys: "
                        f"{', '.join(f'{dotted}.{key}' for key in sorted(node[parts[-1]]))}")
    node[parts[-1]] = value


def get_dotted(config: dict, dotted: str) -> object:
    """``config['a']['b']`` for ``dotted='a.b'``; None where the config has no such key."""
    node: object = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def resolve(dataset: str, method: str, mode: str | None, ipc: int | None, profile: str = "quick", seed: int = 0,
            runs: int | None = None, preset: str | None = None, data: dict | None = None,
            overrides: dict | None = None) -> dict:
    """The full resolved config of one run: everything that determines its result, nothing else, checked."""
    from .methods import METHODS

    check_choice("method", method, [*METHODS.names(), FULL])
    base = load_profile(profile)
    if method not in base["methods"]:
        raise UserError(f"profile {profile} has no section for method {method}")
    section = base["methods"][method]
    if ipc is not None and method != FULL:
        section = deep_merge(section, _ipc_settings(base, method, ipc))
    if preset is not None:
        presets = load_presets()
        check_choice("preset", preset, presets)
        section = deep_merge(section, presets[preset].get(method, {}))
    if not isinstance(data, (dict, type(None))):
        raise UserError(f"data must be a mapping of {', '.join(DataConfig.keys())}, got {data!r}")
    config = {
        "dataset": dataset,
        "data": {**DataConfig.defaults(), **(data or {})},
        "method": method,
        "mode": mode if takes_mode(method) else None,
        "ipc": None if method == FULL else ipc,
        "seed": seed,
        "profile": profile,
        "preset": preset,
        "device": base["device"],
        "net": copy.deepcopy(base["net"]),
        **copy.deepcopy(section),
    }
    if runs is not None:
        config["eval"]["runs"] = runs
    for dotted, value in (overrides or {}).items():
        set_dotted(config, dotted, value)
    return validate(config, profile_names(), load_presets())


def parse_override(text: str, flag: str = "--set") -> tuple[str, object]:
    """Parse ``key.sub=value`` (value read as YAML) from the command line."""
    if "=" not in text:
        raise UserError(f"{flag} expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        reason = " ".join(str(getattr(error, "problem", None) or error).split())
        raise UserError(f"{flag} {key.strip()}: {raw!r} is not a YAML value ({reason})") from None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)  # YAML 1.1 reads 1e-3, nan and inf as text; a number is meant
    return key.strip(), value


__all__ = ["FULL", "deep_merge", "get_dotted", "identity", "load_presets", "load_profile", "params_dir",
           "parse_override", "profile_names", "resolve", "set_dotted"]
