"""Resolve a run's full config from a profile in params/, an optional preset and explicit overrides."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .barycenter import DISCREPANCIES
from .errors import UserError, check_choice, check_int
from .paths import repo_root

PARAMS_DIR = repo_root() / "params"
FULL = "full"
# Options added after runs were first stored. ``resolve`` fills in these defaults where a profile or preset
# does not set them; at these values they reproduce the earlier behaviour, so run ids leave them out and the
# runs stored before an option existed are still found.
LATER_OPTIONS = {"distill.discrepancy": "sq", "distill.extractor": "random", "distill.extractor_epochs": 1,
                 "eval.arch": None, "eval.max_test": None, "eval.group_weighting": "none", "distill.compile": False,
                 "eval.ensemble": True, "eval.compile": False}
# Options that change how a run is computed, not what: results agree to float rounding either way (the
# same option and seed still give the same result), so run ids always leave them out.
EXECUTION_OPTIONS = ("distill.compile", "eval.ensemble", "eval.compile")


def params_dir() -> Path:
    """The folder holding profiles/ and presets.yaml (the repository's params/)."""
    return PARAMS_DIR


def profile_names() -> list[str]:
    """Profiles available in params/profiles/."""
    return sorted(path.stem for path in (params_dir() / "profiles").glob("*.yaml"))


def load_profile(name: str) -> dict:
    """The profile ``name`` as a dict."""
    check_choice("profile", name, profile_names())
    return yaml.safe_load((params_dir() / "profiles" / f"{name}.yaml").read_text())


def load_presets() -> dict:
    """All presets from params/presets.yaml."""
    return yaml.safe_load((params_dir() / "presets.yaml").read_text()) or {}


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
    """Set ``config['a']['b'] = value`` for ``dotted='a.b'``; an unknown key is a UserError."""
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise UserError(f"unknown config key {dotted!r}")
        node = node[part]
    if parts[-1] not in node:
        raise UserError(f"unknown config key {dotted!r}; known here: {', '.join(sorted(node))}")
    node[parts[-1]] = value


def get_dotted(config: dict, dotted: str) -> object:
    """``config['a']['b']`` for ``dotted='a.b'``; None where the config has no such key."""
    node: object = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def identity(config: dict) -> dict:
    """What a run id hashes: the config without the execution options and the later options at their defaults."""
    kept = copy.deepcopy(config)
    for dotted, default in LATER_OPTIONS.items():
        section, key = dotted.split(".")
        if key in kept.get(section, {}) and (dotted in EXECUTION_OPTIONS or kept[section][key] == default):
            del kept[section][key]
    return kept


def resolve(dataset: str, method: str, mode: str | None, ipc: int, profile: str = "quick", seed: int = 0,
            runs: int | None = None, preset: str | None = None, data: dict | None = None,
            overrides: dict | None = None) -> dict:
    """The full resolved config of one run: everything that determines its result, nothing else."""
    from .data import DATASETS
    from .data.benchmarks import BENCHMARKS
    from .data.loader import resolve_params
    from .methods import METHODS
    from .modes import MODES
    from .nets import NETS

    check_choice("dataset", dataset, DATASETS)
    check_choice("method", method, [*METHODS.names(), FULL])
    base = load_profile(profile)
    section = base["methods"][method]
    if preset is not None:
        presets = load_presets()
        check_choice("preset", preset, presets)
        section = deep_merge(section, presets[preset].get(method, {}))
    data_options = {"skew": None, "gap": 0, "semantic_gap": 0.0, "group_noise": 0.0, "known_groups": 1.0,
                    **(data or {})}
    data_params = resolve_params(dataset, BENCHMARKS.build(dataset), seed=seed, **data_options)
    config = {
        "dataset": dataset,
        "data": {key: data_params[key] for key in data_options},
        "method": method,
        "mode": None if method == FULL else check_choice("mode", mode or "", MODES.names()),
        "ipc": None if method == FULL else check_int("ipc", ipc, 1),
        "seed": check_int("seed", seed, 0),
        "profile": profile,
        "preset": preset,
        "device": base.get("device", "auto"),
        "net": copy.deepcopy(base["net"]),
        **copy.deepcopy(section),
    }
    for dotted, default in LATER_OPTIONS.items():
        section, key = dotted.split(".")
        if section in config:
            config[section].setdefault(key, default)
    if runs is not None:
        config["eval"]["runs"] = check_int("runs", runs, 1)
    for dotted, value in (overrides or {}).items():
        set_dotted(config, dotted, value)
    check_int("eval.runs", config["eval"]["runs"], 1)
    check_choice("eval.group_weighting", config["eval"]["group_weighting"], ("none", "balanced"))
    if config["eval"]["max_test"] is not None:
        check_int("eval.max_test", config["eval"]["max_test"], 1)
    if config["eval"]["arch"] is not None:
        check_choice("eval.arch", config["eval"]["arch"], NETS.names())
    check_int("eval.epochs", config["eval"]["epochs"], 1)
    for key in ("ensemble", "compile"):
        if not isinstance(config["eval"][key], bool):
            raise UserError(f"eval.{key} must be true or false, not {config['eval'][key]!r}")
    if method != FULL:
        check_int("distill.iterations", config["distill"]["iterations"], 1)
        check_int("distill.real_per_class", config["distill"]["real_per_class"], 1)
        check_choice("distill.extractor", config["distill"]["extractor"], ("random", "fair"))
        if not isinstance(config["distill"]["compile"], bool):
            raise UserError(f"distill.compile must be true or false, not {config['distill']['compile']!r}")
        check_int("distill.extractor_epochs", config["distill"]["extractor_epochs"], 1)
        discrepancy = check_choice("distill.discrepancy", config["distill"]["discrepancy"], DISCREPANCIES)
        if discrepancy != "sq" and config["mode"] != "cobra":
            raise UserError(f"distill.discrepancy={discrepancy} needs mode cobra (it shapes COBRA's barycenter)")
    return config


def parse_override(text: str) -> tuple[str, object]:
    """Parse ``key.sub=value`` (value read as YAML) from the command line."""
    if "=" not in text:
        raise UserError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw)
