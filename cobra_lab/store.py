"""Runs on disk: a run id from the resolved config, checked atomic writes, verified cache lookup, locks."""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .config import identity
from .integrity import (
    DamagedFile,
    Mismatch,
    expect,
    expect_mapping,
    expect_tensor,
    move_aside,
    parse_json,
    parse_torch,
    parse_yaml,
    read_checked,
    remove_checked,
    save_json,
    save_torch,
    save_yaml,
)
from .io import config_hash
from .locks import FileLock
from .paths import repo_root
from .schema import typed, with_defaults
from .sections import RunConfig

METRIC_KEYS = ("acc", "acc_std", "eod_max", "eod_max_std", "eod_mean", "eod_mean_std", "runs")
TIMING_KEYS = ("distill_seconds", "eval_seconds", "seconds")


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
    """The folder of one run (config.yaml, predictions.pt, metrics.json, timing.json, log.txt) and of its distilled set
    (<root>/synsets/<synset id>/: synset.pt, checkpoint.pt), which runs differing only in evaluation share.

    Every stored file has a ``.sha256`` checksum beside it and is checked when read (see ``integrity``); a
    ``.lock`` file in a folder means a process is computing that run or distilled set (see ``locks``)."""

    def __init__(self, config: dict, root: str | Path | None = None) -> None:
        self.config = config
        root = Path(root or default_root())
        self.root = root  # the store: runs/, synsets/, experts/
        self.path = root / "runs" / run_id(config)
        self.synset_dir = root / "synsets" / synset_id(config)

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        """The run stored in folder ``path`` (its config read from config.yaml, checked)."""
        path = Path(path)
        config = read_checked(path / "config.yaml", parse_yaml)
        if config is None:
            raise FileNotFoundError(f"{path} holds no config.yaml")
        run = cls(with_defaults(config), path.parent.parent)
        if run.path != path:
            raise ValueError(f"{path} holds the config of another run ({run.path.name})")
        return run

    @property
    def run_config(self) -> RunConfig:
        """The run's config as typed sections, for the loops, methods and evaluation."""
        return typed(self.config)

    @property
    def config_file(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.json"

    @property
    def timing_file(self) -> Path:
        return self.path / "timing.json"

    @property
    def predictions_file(self) -> Path:
        return self.path / "predictions.pt"

    @property
    def synset_file(self) -> Path:
        return self.synset_dir / "synset.pt"

    @property
    def checkpoint_file(self) -> Path:
        return self.synset_dir / "checkpoint.pt"

    def lock(self) -> FileLock:
        """The lock of this run: held while it is computed."""
        return FileLock(self.path / ".lock", f"run {self.path.name}")

    def synset_lock(self) -> FileLock:
        """The lock of this run's distilled set: held while it is distilled."""
        return FileLock(self.synset_dir / ".lock", f"distilled set {self.synset_dir.name}")

    def finished(self) -> bool:
        """Whether the run is stored intact (metrics.json is written last)."""
        return self.stored_result() is not None

    def stored_result(self, repair: bool = False) -> dict | None:
        """The stored metrics and timing with ``cached: True``; None when the run is unfinished or a file is
        damaged. With ``repair`` (under the run's lock) a damaged file is reported in one warning line and moved
        aside: a damaged config.yaml is rewritten from the config, damaged results make the run unfinished."""
        try:
            metrics = read_checked(self.metrics_file, parse_json, self._check_metrics)
            if metrics is None:
                return None
            timing = read_checked(self.timing_file, parse_json, _check_timing)
            if timing is None:
                raise DamagedFile(self.timing_file, "missing beside metrics.json")
        except DamagedFile as damage:
            if repair:
                move_aside(damage, "computing the run again", self.log)
            return None
        try:
            if read_checked(self.config_file, parse_yaml, self._check_config) is None:
                raise DamagedFile(self.config_file, "missing beside metrics.json")
        except DamagedFile as damage:
            if not repair:
                return None
            move_aside(damage, "rewriting it from the resolved config", self.log)
            self.start()
        return {**metrics, **timing, "cached": True, "run_dir": str(self.path)}

    def _check_metrics(self, metrics: object) -> None:
        expect_mapping(metrics, (*METRIC_KEYS, "run_id"), finite=METRIC_KEYS)
        expect(metrics["run_id"] == self.path.name, f"holds the metrics of run {metrics['run_id']!r}")
        expect(metrics["runs"] == self.config["eval"]["runs"],
               f"holds {metrics['runs']} evaluation nets, the config asks for {self.config['eval']['runs']}")
        for key in ("acc", "eod_max", "eod_mean"):
            expect(0 <= metrics[key] <= 100, f"{key} is {metrics[key]}, not a percentage")

    def _check_config(self, stored: object) -> None:
        try:
            stored_id = run_id(stored)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any malformed mapping
            raise Mismatch("is not a run config") from None
        expect(stored_id == self.path.name, f"holds the config of run {stored_id}")

    def start(self) -> None:
        """Create the folder and write the full resolved config."""
        save_yaml(self.config_file, self.config)

    def discard(self, synset: bool) -> None:
        """Remove what an unfinished run wrote: its folder, its checkpoint and, with ``synset``, its distilled set
        (a set already stored before the run is kept); folders left empty go too."""
        self.discard_unfinished()
        remove_checked(self.checkpoint_file)
        if synset:
            remove_checked(self.synset_file)
        with contextlib.suppress(OSError):
            self.synset_dir.rmdir()  # only when empty: a stored set stays
        with contextlib.suppress(OSError):
            self.synset_dir.parent.rmdir()  # synsets/ when this run's set was its only one

    def discard_unfinished(self) -> None:
        """Remove the run's own folder (config, log, partial results) after a failure the run cannot recover
        from; its checkpoint and distilled set stay, so a rerun goes on from them."""
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()  # runs/ when this run was its only one

    def log(self, message: str) -> None:
        """Append a time-stamped line to log.txt (an OSError names log.txt)."""
        log_file = self.path / "log.txt"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with open(log_file, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        except OSError as error:  # a failed write() or close() names no file
            raise OSError(error.errno, error.strerror, str(log_file)) from error

    def save_synset(self, state: dict) -> None:
        """Write the distilled set and drop the checkpoint it no longer needs."""
        save_torch(self.synset_file, state)
        remove_checked(self.checkpoint_file)

    def stored_synset(self, check: Callable[[dict], None], repair: bool = False) -> dict | None:
        """The stored distilled set if it is intact and passes ``check`` (which raises ``Mismatch``), else None;
        with ``repair`` (under the set's lock) a damaged one is reported and moved aside."""
        try:
            return read_checked(self.synset_file, parse_torch, check)
        except DamagedFile as damage:
            if repair:
                move_aside(damage, "distilling the set again", self.log)
            return None

    def load_synset(self) -> dict:
        """The stored distilled set (weights_only); DamagedFile if it fails its checksum."""
        state = read_checked(self.synset_file, parse_torch)
        if state is None:
            raise FileNotFoundError(f"{self.synset_file} does not exist")
        return state

    def save_timing(self, timing: dict) -> None:
        """Write timing.json (kept apart so metrics.json depends on the config alone)."""
        save_json(self.timing_file, timing)

    def save_predictions(self, record: dict) -> None:
        """Write predictions.pt: each evaluation net's test predictions and confidences
        (``evaluate.prediction_record``)."""
        save_torch(self.predictions_file, record)

    def stored_predictions(self) -> dict | None:
        """The stored test predictions, checked against the run's net count; None for a run stored without them
        (before they were kept); DamagedFile when they fail their checksum or check."""
        return read_checked(self.predictions_file, parse_torch, self._check_predictions)

    def _check_predictions(self, record: object) -> None:
        expect(isinstance(record, dict) and isinstance(record.get("y"), torch.Tensor), "does not hold predictions")
        images = record["y"].numel()  # type: ignore[index]
        expect_tensor(record, "y", (images,))  # type: ignore[arg-type]
        expect_tensor(record, "a", (images,))  # type: ignore[arg-type]
        expect_tensor(record, "predicted", (self.config["eval"]["runs"], images))  # type: ignore[arg-type]
        if "confidence" in record:  # type: ignore[operator]  # absent from runs stored before confidences were kept
            expect_tensor(record, "confidence", (self.config["eval"]["runs"], images))  # type: ignore[arg-type]

    def save_metrics(self, metrics: dict) -> None:
        """Write metrics.json (this marks the run finished)."""
        save_json(self.metrics_file, metrics)


def _check_timing(timing: object) -> None:
    expect_mapping(timing, TIMING_KEYS, finite=TIMING_KEYS)
    expect(all(timing[key] >= 0 for key in TIMING_KEYS), "holds a negative time")  # type: ignore[index]
