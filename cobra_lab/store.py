"""Runs on disk: a run id from the resolved config, atomic writes, cache lookup and resume."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import yaml

from .config import identity
from .io import atomic_torch_save, atomic_write_json, atomic_write_yaml, config_hash, torch_load
from .paths import repo_root
from .schema import with_defaults


def default_root() -> Path:
    """Where results go: $COBRA_LAB_OUTPUTS, else <repo>/outputs (the same folder from any cwd)."""
    return Path(os.environ.get("COBRA_LAB_OUTPUTS") or repo_root() / "outputs")


def _readable_id(config: dict, hashed: dict) -> str:
    """What a config is (dataset, method, mode, ipc, profile, seed), then a hash of ``hashed``."""
    parts = [config["dataset"], config["method"]]
    if config.get("mode"):
        parts.append(config["mode"])
    if config.get("ipc"):
        parts.append(f"ipc{config['ipc']}")
    parts += [config["profile"], f"s{config['seed']}", config_hash(hashed)]
    return "-".join(str(part) for part in parts)


def run_id(config: dict) -> str:
    """A readable, unique id for a resolved config: what it is, then a hash of all of it."""
    return _readable_id(config, identity(config))


def synset_id(config: dict) -> str:
    """The id of a config's distilled set: everything but the evaluation, so runs that differ only in how
    they evaluate (another architecture, more nets) share one distillation."""
    return _readable_id(config, {key: value for key, value in identity(config).items() if key != "eval"})


class RunDir:
    """The folder of one run (config.yaml, metrics.json, timing.json, log.txt) and of its distilled set
    (<root>/synsets/<synset id>/: synset.pt, checkpoint.pt), which runs differing only in evaluation share."""

    def __init__(self, config: dict, root: str | Path | None = None) -> None:
        self.config = config
        root = Path(root or default_root())
        self.path = root / "runs" / run_id(config)
        self.synset_dir = root / "synsets" / synset_id(config)

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        """The run stored in folder ``path`` (its config read from config.yaml)."""
        path = Path(path)
        run = cls(with_defaults(yaml.safe_load((path / "config.yaml").read_text())), path.parent.parent)
        if run.path != path:
            raise ValueError(f"{path} holds the config of another run ({run.path.name})")
        return run

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.json"

    @property
    def synset_file(self) -> Path:
        return self.synset_dir / "synset.pt"

    @property
    def checkpoint_file(self) -> Path:
        return self.synset_dir / "checkpoint.pt"

    def finished(self) -> bool:
        """Whether metrics.json exists (it is written last, atomically)."""
        return self.metrics_file.exists()

    def start(self) -> None:
        """Create the folder and write the full resolved config."""
        atomic_write_yaml(self.path / "config.yaml", self.config)

    def discard(self, synset: bool) -> None:
        """Remove what an unfinished run wrote: its folder, its checkpoint and, with ``synset``, its distilled set
        (a set already stored before the run is kept); folders left empty go too."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.checkpoint_file.unlink(missing_ok=True)
        if synset:
            self.synset_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.synset_dir.rmdir()  # only when empty: a stored set stays
        for folder in (self.path.parent, self.synset_dir.parent):
            with contextlib.suppress(OSError):
                folder.rmdir()  # runs/ and synsets/ when this run was their only one

    def log(self, message: str) -> None:
        """Append a time-stamped line to log.txt."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def save_synset(self, state: dict) -> None:
        """Write the distilled set and drop the checkpoint it no longer needs."""
        atomic_torch_save(self.synset_file, state)
        self.checkpoint_file.unlink(missing_ok=True)

    def load_synset(self) -> dict:
        """The stored distilled set (weights_only)."""
        return torch_load(self.synset_file)

    def save_timing(self, timing: dict) -> None:
        """Write timing.json (kept apart so metrics.json depends on the config alone)."""
        atomic_write_json(self.path / "timing.json", timing)

    def load_timing(self) -> dict:
        """The stored timings, empty if absent."""
        path = self.path / "timing.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def save_metrics(self, metrics: dict) -> None:
        """Write metrics.json atomically (this marks the run finished)."""
        atomic_write_json(self.metrics_file, metrics)

    def load_metrics(self) -> dict:
        """The stored metrics."""
        return json.loads(self.metrics_file.read_text())
