"""Expert trajectories for MTT: nets trained on the real train split, or on one group's part of it, with their
parameters kept after every epoch. Costly, so stored once and shared by every run that needs them.

``<root>/experts/<id>/`` holds the trajectories of one data set, net and expert training settings (the id
hashes ``expert_key``); in it ``whole/`` the experts trained on the whole train split (vanilla MTT) and
``group<g>/`` those trained on the train images whose observed group is g (COBRA MTT). Expert i of every set
starts from the same initialisation and draws its batches from the same seeded stream, so the group experts
of one index differ only in their data. ``expert_<i>.pt`` holds its parameter snapshots [epochs + 1, P]; while
it trains, ``expert_<i>.partial.pt`` holds the epochs done, so an interrupted expert goes on from its last epoch
and ends as an uninterrupted one. Files are written atomically with checksums (``integrity``) and a set is
trained under its lock (``locks``), so two processes never train one expert twice.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .augment import DSA
from .data import seeding
from .data.types import GroupedData, Split
from .errors import UserError
from .integrity import (
    DamagedFile,
    expect,
    expect_tensor,
    move_aside,
    parse_torch,
    read_checked,
    remove_checked,
    save_torch,
)
from .io import config_hash
from .locks import FileLock
from .nets import NetFactory, flat_parameters, unflatten
from .sections import RunConfig
from .training import train_epochs

EXPERT_SETTINGS = ("expert_train_epochs", "expert_lr", "expert_batch", "expert_dsa", "expert_per_class",
                   "expert_balance")
WHOLE = "whole"


def expert_key(config: RunConfig) -> dict:
    """What an expert trajectory depends on: the data (dataset, bias options, seed), the net and the expert
    training settings; not the distillation, so vanilla and COBRA runs of any IPC share their experts."""
    settings = config.distill
    return {"dataset": config.dataset, "data": config.data.as_dict(), "seed": config.seed,
            "net": config.net.as_dict(), "dsa_strategy": settings.dsa_strategy if settings.expert_dsa else None,
            **{key: getattr(settings, key) for key in EXPERT_SETTINGS}}


def expert_sets(mode: str, train: Split, subset: torch.Tensor) -> dict[str, torch.Tensor]:
    """The expert sets a mode draws from, by name, with the train rows each learns from: the whole ``subset`` for
    vanilla; otherwise one set per observed group, its rows of ``subset``."""
    if mode == "vanilla":
        return {WHOLE: subset}
    observed = train.a_observed[subset]
    return {f"group{group}": subset[observed == group] for group in sorted(observed[observed >= 0].unique().tolist())}


def expert_subset(train: Split, per_class: int | None, seed: int) -> torch.Tensor:
    """The train rows experts learn from: at most ``per_class`` images of each class (seeded), or all [N]."""
    if per_class is None:
        return torch.arange(len(train))
    order = torch.randperm(len(train), generator=seeding.generator(seed, "expert-subset"))
    labels = train.y[order]
    return torch.cat([order[labels == label][:per_class] for label in train.y.unique().tolist()]).sort().values


def class_balanced_weights(y: torch.Tensor) -> torch.Tensor:
    """Per image 1 / (classes present * share of its class) [N]: every class present weighs the same."""
    labels, counts = y.unique(return_counts=True)
    weight_of = torch.zeros(int(labels.max()) + 1)
    weight_of[labels] = counts.sum() / (len(labels) * counts.float())
    return weight_of[y]


def _parameter_count(new_net: NetFactory) -> int:
    return flat_parameters(new_net(torch.Generator().manual_seed(0))).numel()


class Experts:
    """The stored expert trajectories of one config (see the module docstring)."""

    def __init__(self, config: RunConfig, root: str | Path) -> None:
        self.seed = config.seed
        self.settings = config.distill
        net = config.net
        self.path = Path(root) / "experts" / (f"{config.dataset}-{net.arch}{net.width}-s{config.seed}-"
                                              f"{config_hash(expert_key(config))}")
        self.epochs = self.settings.expert_train_epochs

    def file(self, name: str, index: int) -> Path:
        return self.path / name / f"expert_{index:03d}.pt"

    def partial_file(self, name: str, index: int) -> Path:
        return self.path / name / f"expert_{index:03d}.partial.pt"

    def lock(self, name: str) -> FileLock:
        return FileLock(self.path / name / ".lock", f"expert trajectories {self.path.name}/{name}")

    def stored(self, name: str, index: int, parameters: int, repair: bool = False) -> dict | None:
        """Expert ``index`` of set ``name`` when stored intact ({"snapshots": [epochs + 1, P], "seconds"}),
        else None; with ``repair`` (under the set's lock) a damaged file is reported and moved aside."""
        def check(state: object) -> None:
            expect(isinstance(state, dict), "does not hold an expert trajectory")
            expect_tensor(state, "snapshots", (self.epochs + 1, parameters), floating=True)
            expect_tensor(state, "seconds", ())

        try:
            return read_checked(self.file(name, index), parse_torch, check)
        except DamagedFile as damage:
            if repair:
                move_aside(damage, "training the expert again")
            return None

    def trajectories(self, data: GroupedData, mode: str, count: int, new_net: NetFactory, device: torch.device,
                     progress: bool = True, log: Callable[[str], None] | None = None) -> Iterator[torch.Tensor]:
        """The first ``count`` experts of each set ``mode`` draws from, one expert index at a time
        [sets, epochs + 1, P] (so only one index is held in memory); missing ones are trained first (resuming a
        partial one) and stored, a damaged one is moved aside and trained again."""
        subset = expert_subset(data.train, self.settings.expert_per_class, self.seed)
        sets, parameters = expert_sets(mode, data.train, subset), _parameter_count(new_net)
        missing = [(name, index) for name in sets for index in range(count) if not self.file(name, index).exists()]
        if missing:
            self._train(data.train, sets, missing, parameters, new_net, device, progress, log)
        for index in range(count):
            states = []
            for name in sets:
                state = self.stored(name, index, parameters)
                if state is None:  # damaged since: trained again under the set's lock
                    self._train(data.train, sets, [(name, index)], parameters, new_net, device, progress, log)
                    state = self.stored(name, index, parameters)
                    if state is None:
                        raise RuntimeError(f"expert {index} of {self.path / name} vanished while being read")
                states.append(state["snapshots"])
            yield torch.stack(states)

    def _train(self, train: Split, sets: dict[str, torch.Tensor], missing: list[tuple[str, int]], parameters: int,
               new_net: NetFactory, device: torch.device, progress: bool, log: Callable[[str], None] | None) -> None:
        """Train the ``missing`` (set, index) experts, each set under its lock, with one progress bar."""
        bar = tqdm(total=len(missing) * self.epochs, disable=not progress, unit="epoch", leave=False,
                   desc=f"experts {self.path.name}")
        with bar:
            for name in dict.fromkeys(name for name, _ in missing):
                with self.lock(name):
                    for index in (index for set_name, index in missing if set_name == name):
                        if self.stored(name, index, parameters, repair=True) is not None:  # trained meanwhile
                            bar.update(self.epochs)
                            continue
                        self._train_one(train, sets[name], name, index, parameters, new_net, device, bar, log)

    def _train_one(self, train: Split, rows: torch.Tensor, name: str, index: int, parameters: int,
                   new_net: NetFactory, device: torch.device, bar: tqdm, log: Callable[[str], None] | None) -> None:
        """Train expert ``index`` of set ``name`` on train[rows], saving its epochs as it goes, then store it."""
        settings, seed = self.settings, self.seed
        net = new_net(seeding.generator(seed, f"expert-init-{index}")).to(device)
        generator = seeding.generator(seed, f"expert-batches-{index}")
        snapshots, seconds = [flat_parameters(net).cpu()], 0.0
        partial = self._resume(name, index, parameters, generator, log)
        if partial is not None:
            snapshots, seconds = list(partial["snapshots"]), float(partial["seconds"])
            with torch.no_grad():
                for parameter, value in zip(net.parameters(), unflatten(net, snapshots[-1].to(device)).values()):
                    parameter.copy_(value)
            bar.update(len(snapshots) - 1)
        x, y = train.x[rows].to(device), train.y[rows].to(device)
        weight = class_balanced_weights(train.y[rows]).to(device) if settings.expert_balance == "classes" else None
        augment = DSA(settings.dsa_strategy) if settings.expert_dsa else None
        for _ in range(len(snapshots) - 1, self.epochs):
            began = time.time()
            train_epochs(net, x, y, 1, lr=settings.expert_lr, generator=generator, batch=settings.expert_batch,
                         augment=augment, sample_weight=weight)
            snapshots.append(flat_parameters(net).cpu())
            seconds += time.time() - began
            if not torch.isfinite(snapshots[-1]).all():
                raise UserError(f"expert {index} of {name} diverged; try a smaller distill.expert_lr")
            if len(snapshots) - 1 < self.epochs:
                save_torch(self.partial_file(name, index), {"snapshots": torch.stack(snapshots),
                                                            "generator": generator.get_state(), "seconds": seconds})
            bar.update(1)
        save_torch(self.file(name, index), {"snapshots": torch.stack(snapshots),
                                            "seconds": torch.tensor(seconds, dtype=torch.float64)})
        remove_checked(self.partial_file(name, index))
        if log is not None:
            log(f"expert {index} of {self.path.name}/{name}: {len(rows)} images, {self.epochs} epochs in "
                f"{seconds:.1f} s")

    def _resume(self, name: str, index: int, parameters: int, generator: torch.Generator,
                log: Callable[[str], None] | None) -> dict | None:
        """The partial state of an interrupted expert (its generator restored), or None to start it afresh."""
        size = generator.get_state().numel()

        def check(state: object) -> None:
            expect(isinstance(state, dict), "does not hold a partial expert")
            snapshots = state.get("snapshots")
            expect(isinstance(snapshots, torch.Tensor) and snapshots.dim() == 2
                   and 1 < snapshots.shape[0] <= self.epochs, "holds no epochs of this expert")
            expect_tensor(state, "snapshots", (snapshots.shape[0], parameters), floating=True)
            expect_tensor(state, "generator", (size,))
            expect(isinstance(state.get("seconds"), float), "seconds is not a time")

        try:
            state = read_checked(self.partial_file(name, index), parse_torch, check)
        except DamagedFile as damage:
            move_aside(damage, "training the expert from its start", log)
            return None
        if state is not None:
            generator.set_state(state["generator"])
            if log is not None:
                log(f"expert {index} of {name}: resumed at epoch {state['snapshots'].shape[0] - 1} of {self.epochs}")
        return state
