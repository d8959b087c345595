"""The paper's setting of each study (params/paper/<notebook>.yaml) and a sentence naming where a run differs."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..config import params_dir

IGNORED = ("out_dir", "workers", "backend", "live", "explorer_dataset", "metric")  # how a run is done, not what


def paper_file(name: str) -> Path:
    """params/paper/<name>.yaml: the paper's grid for notebook ``name``."""
    return params_dir() / "paper" / f"{name}.yaml"


def paper_params(name: str) -> dict:
    """The paper's parameters of notebook ``name`` ({} where the paper has no study file for it)."""
    path = paper_file(name)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def same_setting(ours: object, papers: object) -> bool:
    """Whether a parameter's value is the paper's; lists in another order count as the same (a grid's order
    changes only the order of its runs)."""
    if isinstance(ours, list) and isinstance(papers, list):
        return sorted(map(repr, ours)) == sorted(map(repr, papers))
    return ours == papers


def differences_sentence(name: str, params: dict) -> str:
    """One sentence: the parameters of this run (``params``, say a notebook's globals) that differ from the
    paper's setting, each with the paper's value, and how to ask for the paper's."""
    paper = paper_params(name)
    if not paper:
        return f"The paper runs no grid of its own for {name}."
    differing = [f"{key} {params[key]!r} (paper: {value!r})" for key, value in paper.items()
                 if key not in IGNORED and key in params and not same_setting(params[key], value)]
    if not differing:
        return f"This run is the paper's setting (params/paper/{name}.yaml)."
    return (f"This run differs from the paper's setting in {len(differing)} parameter"
            f"{'s' if len(differing) > 1 else ''}: {'; '.join(differing)}; the paper's grid in one step: "
            f"-f params/paper/{name}.yaml.")
