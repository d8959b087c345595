"""What a reproduction runs: each study's paper setting (params/paper/<notebook>.yaml, else the notebook's own
parameters with the setting params/reproduction.yaml gives) moved to the offline datasets and to one profile,
the notebook parameters that result, and the runs they need (shared runs counted once)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from ..config import params_dir, profile_names
from ..errors import UserError, check_choice
from ..store import RunDir, run_id
from ..studies import STUDIES, notebook_params, study_grids
from ..studies.paper_setting import paper_params
from ..sweep import expand

SPEC_FILE = "reproduction.yaml"
FALLBACK_IPC = 10  # a paper IPC that does not fit the profile runs at this one
IPC_KEYS = ("ipc", "ipcs")
SEED_KEYS = ("seeds", "seed")  # the notebook parameter that seeds a study: a list of seeds, or one


@cache
def spec() -> dict:
    """params/reproduction.yaml: the stand-in, the offline datasets, the IPC that fits each profile, the studies."""
    return yaml.safe_load((params_dir() / SPEC_FILE).read_text(encoding="utf-8"))


def study_names() -> list[str]:
    """The studies of a reproduction, in the page's order."""
    return list(spec()["studies"])


def dataset_name(dataset: str) -> str:
    """The paper's name of a dataset (its key where the paper has none)."""
    return spec()["names"].get(dataset, dataset)


def pick_studies(wanted: list[str] | str | None) -> list[str]:
    """The studies ``wanted`` names, by notebook name or its number (``02``), in the page's order; None: all."""
    names = study_names()
    if not wanted:
        return names
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    picked = set()
    for text in wanted:
        matches = [name for name in names if name == text or name.split("_", 1)[0] == str(text).zfill(2)]
        if not matches:
            raise UserError(f"no study {text!r} in the reproduction; it has: "
                            f"{', '.join(name.split('_', 1)[0] for name in names)} ({', '.join(names)})")
        picked.update(matches)
    return [name for name in names if name in picked]


def _is_dataset_key(key: str) -> bool:
    """Whether a notebook parameter names datasets (dataset, datasets, natural_datasets, explorer_dataset)."""
    return key in ("dataset", "datasets") or key.endswith(("_dataset", "_datasets"))


def offline_dataset(dataset: str) -> str:
    """``dataset`` itself where this machine builds it without a download, else the stand-in."""
    return dataset if dataset in spec()["offline"] else spec()["stand_in"]


def _offline(value: object) -> object:
    """A dataset parameter's value (one name or a list) with every download replaced by the stand-in."""
    if isinstance(value, list):
        return list(dict.fromkeys(offline_dataset(name) for name in value))
    return offline_dataset(value) if isinstance(value, str) else value


def _fitting_ipc(value: object, fits: int | None) -> object:
    """An IPC parameter (one or a list) without the IPCs above ``fits`` (None: all fit); FALLBACK_IPC if none left."""
    if fits is None:
        return value
    if isinstance(value, list):
        kept = [ipc for ipc in value if ipc <= fits]
        return kept or [FALLBACK_IPC]
    return value if value <= fits else FALLBACK_IPC


@dataclass
class StudyPlan:
    """One study of a reproduction: its notebook parameters, the paper's, and the runs they need."""

    name: str
    shows: str
    paper: dict
    params: dict
    overrides: dict = field(default_factory=dict)
    grids: list[dict] = field(default_factory=list)
    configs: list[dict] = field(default_factory=list)
    seed: int | None = None  # the seed of a seed-check rerun; None: the study's own run

    def replaced(self) -> dict[str, tuple[object, object]]:
        """The datasets and IPCs that differ from the paper's setting: key -> (paper's value, ours)."""
        return {key: (self.paper[key], self.params[key]) for key in self.paper
                if (_is_dataset_key(key) or key in IPC_KEYS) and self.paper[key] != self.params.get(key)}


def seed_key(params: dict) -> str | None:
    """The parameter that seeds a study with notebook parameters ``params`` (None: the study takes no seed)."""
    return next((key for key in SEED_KEYS if key in params), None)


def seed_folder(folder: Path, seed: int) -> Path:
    """Where a study whose results are in ``folder`` keeps its rerun at ``seed``."""
    return folder / f"seed{seed}"


def same_setting(recorded: dict, planned: dict) -> bool:
    """Whether a study's recorded notebook parameters are the planned ones, wherever the store lies now (its
    folder, ``out_dir``, is where the record is found, so a store copied elsewhere keeps its studies)."""
    return {**recorded, "out_dir": None} == {**planned, "out_dir": None}


def with_seed(params: dict, seed: int) -> dict:
    """A seeded study's parameters ``params`` rerun at ``seed`` alone, into its seed folder."""
    key = seed_key(params)
    return {**params, key: [seed] if key == "seeds" else seed,
            "out_dir": str(seed_folder(Path(params["out_dir"]), seed))}


def study_plan(name: str, profile: str, out_dir: Path, overrides: dict | None = None,
               seed: int | None = None) -> StudyPlan:
    """The plan of study ``name`` at ``profile``: the paper's setting on the offline datasets, IPCs that fit,
    the profile's evaluation nets, its results in ``out_dir``; ``overrides`` (parameter -> value) win last;
    ``seed``: the study rerun at that seed alone, in its seed folder under ``out_dir``.
    The notebook reads its runs back from the store: the reproduction computes them first, all studies at once."""
    entry = spec()["studies"][name]
    paper = {**notebook_params(name), **paper_params(name), **entry.get("paper", {})}
    chosen = {**paper, **entry.get("params", {})}
    fits = spec()["fits_ipc"].get(profile)
    params = {key: _offline(value) if _is_dataset_key(key) else
              _fitting_ipc(value, fits) if key in IPC_KEYS else value for key, value in chosen.items()}
    params.update(profile=profile, out_dir=str(out_dir))
    for key, value in {"runs": None, "live": None}.items():
        if key in params:
            params[key] = value
    for key, value in (overrides or {}).items():
        if key not in params:
            raise UserError(f"study {name} has no parameter {key!r}; it has: {', '.join(params)}")
        params[key] = value
    if seed is not None:
        params = with_seed(params, seed)
    grids = study_grids(name, params) if name in STUDIES.names() else []
    return StudyPlan(name, entry["shows"], paper, params, dict(overrides or {}), grids,
                     expand(grids, max_runs=None) if grids else [], seed)


def plan(profile: str, studies: list[str] | None, out: Path, overrides: dict | None = None) -> list[StudyPlan]:
    """The plans of the ``studies`` (None: all) at ``profile``, each writing under ``out``/<profile>/<study>;
    ``overrides`` maps a study to parameter overrides."""
    check_choice("profile", profile, profile_names())
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(study_names()))
    if unknown:
        raise UserError(f"overrides for unknown studies: {', '.join(unknown)}")
    return [study_plan(name, profile, out / profile / name, overrides.get(name))
            for name in pick_studies(studies)]


def unique_configs(plans: list[StudyPlan]) -> list[dict]:
    """Every run the plans need, each once (studies share runs: the same config is one run of the store)."""
    configs: dict[str, dict] = {}
    for study in plans:
        for config in study.configs:
            configs.setdefault(run_id(config), config)
    return list(configs.values())


def stored_count(configs: list[dict], root: Path) -> int:
    """How many of ``configs`` are finished runs of the store at ``root``."""
    return sum(RunDir(config, root).finished() for config in configs)
