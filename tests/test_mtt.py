"""MTT: expert trajectories (stored, shared, resumable) and trajectory matching under vanilla, COBRA and FairDD."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import torch
from engine_fixtures import changed, random_grouped_data, smoke_config

import cobra_lab.checkpoints as checkpoints
from cobra_lab import trajectories
from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.loops.trajectory_matching import expert_bank
from cobra_lab.methods import METHODS
from cobra_lab.methods.mtt import MTT, barycentric, matching_loss, normalised_distance, unroll
from cobra_lab.nets import flat_parameters
from cobra_lab.sections import RunConfig
from cobra_lab.studies.mtt import expert_gap, expert_gap_figure, mtt_table
from cobra_lab.trajectories import Experts, class_balanced_weights, expert_subset


def mtt_config(mode: str, **distill) -> RunConfig:
    return smoke_config("mtt", mode, **distill)


def method_of(config: RunConfig, data) -> MTT:
    return METHODS.build(config.method, config, data.image_shape, data.num_classes)


def new_net(config: RunConfig, data):
    return method_of(config, data).new_net


def distill_mtt(data, config: RunConfig, root, checkpoint=None, progress=False, log=None):
    """MTT's loop through the front door, its experts stored under ``root``."""
    return distill(data, config, root, checkpoint, progress=progress, log=log)


def one_group(data):
    """``data`` with every image in group 0."""
    for split in (data.train, data.test):
        split.a.zero_()
        split.a_observed.zero_()
    data.group_names = data.group_names[:1]
    return data


def test_one_group_cobra_equals_vanilla(tmp_path) -> None:
    data = one_group(random_grouped_data())
    vanilla = distill_mtt(data, mtt_config("vanilla"), tmp_path, progress=False)
    cobra = distill_mtt(data, mtt_config("cobra"), tmp_path, progress=False)
    torch.testing.assert_close(cobra.x, vanilla.x, rtol=0, atol=0)
    assert cobra.losses == vanilla.losses


def test_barycentric_start_is_the_mean_of_the_group_checkpoints(tmp_path) -> None:
    data = random_grouped_data()
    config = mtt_config("cobra")
    factory = new_net(config, data)
    experts = Experts(config, tmp_path)
    per_group = next(experts.trajectories(data, "cobra", 1, factory, torch.device("cpu"), progress=False))
    assert per_group.shape[0] == data.num_groups  # [G, epochs + 1, P]
    bank = expert_bank(experts, data, config, method_of(config, data), factory, torch.device("cpu"), False, None)
    for epoch in range(bank.shape[2]):
        manual = sum(per_group[group, epoch] for group in range(data.num_groups)) / data.num_groups
        torch.testing.assert_close(bank[0, 0, epoch], manual)
    # the group experts of one index share their initialisation, and differ once trained on their own data
    torch.testing.assert_close(per_group[:, 0], per_group[:1, 0].expand_as(per_group[:, 0]))
    assert not torch.allclose(per_group[0, -1], per_group[1, -1])


def test_experts_are_stored_once_and_shared(tmp_path) -> None:
    data = random_grouped_data()
    config = mtt_config("vanilla")
    factory = new_net(config, data)
    first = list(Experts(config, tmp_path).trajectories(data, "vanilla", 1, factory, torch.device("cpu"),
                                                         progress=False))
    stored = sorted(path.name for path in Experts(config, tmp_path).path.rglob("*.pt"))
    assert stored == ["expert_000.pt"]
    other_run = changed(replace(config, ipc=3), "distill", iterations=7, lr_img=5.0)
    assert Experts(other_run, tmp_path).path == Experts(config, tmp_path).path  # distillation settings: shared
    again = list(Experts(other_run, tmp_path).trajectories(data, "vanilla", 1, factory, torch.device("cpu"),
                                                           progress=False))
    torch.testing.assert_close(again[0], first[0], rtol=0, atol=0)
    other_experts = changed(config, "distill", expert_lr=0.02)
    assert Experts(other_experts, tmp_path).path != Experts(config, tmp_path).path


def test_a_damaged_expert_is_moved_aside_and_trained_again(tmp_path) -> None:
    data = random_grouped_data()
    config = mtt_config("vanilla")
    factory = new_net(config, data)
    experts = Experts(config, tmp_path)
    first = next(experts.trajectories(data, "vanilla", 1, factory, torch.device("cpu"), progress=False))
    stored = experts.file("whole", 0)
    stored.write_bytes(stored.read_bytes()[:100])  # truncated
    again = next(experts.trajectories(data, "vanilla", 1, factory, torch.device("cpu"), progress=False))
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert list(stored.parent.glob("expert_000.pt.damaged-*"))


def test_interrupted_expert_resumes_to_the_uninterrupted_trajectory(tmp_path, monkeypatch) -> None:
    data = random_grouped_data()
    config = mtt_config("vanilla", expert_train_epochs=3)
    factory = new_net(config, data)
    whole = next(Experts(config, tmp_path / "whole").trajectories(data, "vanilla", 1, factory, torch.device("cpu"),
                                                                  progress=False))
    calls = {"epochs": 0}
    real_train = trajectories.train_epochs

    def stop_after_two(*args, **kwargs):
        if calls["epochs"] == 2:
            raise KeyboardInterrupt
        calls["epochs"] += 1
        return real_train(*args, **kwargs)

    experts = Experts(config, tmp_path / "cut")
    monkeypatch.setattr(trajectories, "train_epochs", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        next(experts.trajectories(data, "vanilla", 1, factory, torch.device("cpu"), progress=False))
    assert experts.partial_file("whole", 0).exists() and not experts.file("whole", 0).exists()
    monkeypatch.setattr(trajectories, "train_epochs", real_train)
    lines = []
    resumed = next(experts.trajectories(data, "vanilla", 1, factory, torch.device("cpu"), progress=False,
                                        log=lines.append))
    assert any("resumed at epoch 2 of 3" in line for line in lines)
    torch.testing.assert_close(resumed, whole, rtol=0, atol=0)
    assert not experts.partial_file("whole", 0).exists()


def test_interrupted_distillation_resumes_to_the_same_set(tmp_path, monkeypatch) -> None:
    data = random_grouped_data()
    config = mtt_config("cobra", iterations=6)
    whole = distill_mtt(data, config, tmp_path, progress=False)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_FRACTION", 1 / 6)  # a checkpoint after every iteration
    real_unroll, calls = MTT.unroll, {"n": 0}

    def stop_at_four(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_unroll(*args, **kwargs)

    monkeypatch.setattr(MTT, "unroll", stop_at_four)
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        distill_mtt(data, config, tmp_path, checkpoint, progress=False)
    assert checkpoint.exists()
    monkeypatch.setattr(MTT, "unroll", real_unroll)
    lines = []
    resumed = distill_mtt(data, config, tmp_path, checkpoint, progress=False, log=lines.append)
    assert any("resumed at iteration 4 of 6" in line for line in lines)
    torch.testing.assert_close(resumed.x, whole.x, rtol=0, atol=0)
    assert resumed.losses == whole.losses


def test_the_matching_loss_falls_on_a_tiny_problem(tmp_path) -> None:
    data = random_grouped_data()
    config = mtt_config("vanilla", iterations=15, lr_img=1000.0, syn_steps=3, expert_train_epochs=3,
                        max_start_epoch=1, expert_epochs=2)
    synset = distill_mtt(data, config, tmp_path, progress=False)
    first, last = sum(synset.losses[:3]) / 3, sum(synset.losses[-3:]) / 3
    assert last < 0.9 * first


def test_unroll_is_differentiable_in_images_and_lr() -> None:
    data = random_grouped_data()
    config = mtt_config("vanilla")
    net = new_net(config, data)(torch.Generator().manual_seed(0))
    start = flat_parameters(net)
    x = data.train.x[:8].clone().requires_grad_(True)
    lr = torch.tensor(0.01, requires_grad=True)
    end = unroll(net, start, x, data.train.y[:8], lr, 2, 4, torch.Generator().manual_seed(1))
    assert end.shape == start.shape
    normalised_distance(end, start + 0.1, start).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and lr.grad is not None and lr.grad != 0


def test_modes_share_the_start_and_differ_in_the_target() -> None:
    starts = torch.tensor([[0.0, 0.0], [2.0, 0.0]])  # [G, P]
    targets = torch.tensor([[1.0, 0.0], [2.0, 2.0]])
    end = torch.tensor([1.5, 1.0])
    torch.testing.assert_close(barycentric(starts), torch.tensor([1.0, 0.0]))
    cobra = matching_loss("cobra", end, starts, targets)
    torch.testing.assert_close(cobra, normalised_distance(end, torch.tensor([1.5, 1.0]), torch.tensor([1.0, 0.0])))
    assert float(cobra) == 0.0
    fairdd = matching_loss("fairdd", end, starts, targets)
    torch.testing.assert_close(fairdd, (normalised_distance(end, targets[0], starts[0])
                                        + normalised_distance(end, targets[1], starts[1])) / 2)


def test_expert_subset_and_class_balance() -> None:
    data = random_grouped_data()
    rows = expert_subset(data.train, 10, seed=0)
    assert torch.bincount(data.train.y[rows]).tolist() == [10] * 4
    torch.testing.assert_close(rows, expert_subset(data.train, 10, seed=0))
    y = torch.tensor([0, 0, 0, 1])
    weights = class_balanced_weights(y)
    assert float(weights[:3].sum()) == pytest.approx(float(weights[3]))


def test_config_rules() -> None:
    config = resolve("cdigits_bg", "mtt", "cobra", 2, profile="smoke")
    assert config["distill"]["experts"] >= 1
    with pytest.raises(UserError, match="method mtt has no mode df"):
        resolve("cdigits_bg", "mtt", "df", 2, profile="smoke")
    with pytest.raises(UserError, match="past the experts"):
        resolve("cdigits_bg", "mtt", "vanilla", 2, profile="smoke", overrides={"distill.max_start_epoch": 5})
    with pytest.raises(UserError, match="per-image norm"):
        resolve("cdigits_bg", "mtt", "vanilla", 2, profile="smoke", overrides={"net.norm": "batchnorm"})


def test_study_table_sets_ours_beside_table17() -> None:
    agg = pd.DataFrame([{"dataset": "cifar10s", "mode": "vanilla", "eod_max": 50.0, "eod_mean": 20.0, "acc": 30.0},
                        {"dataset": "cifar10s", "mode": "cobra", "eod_max": 40.0, "eod_mean": 25.0, "acc": 35.0}])
    table, bold = mtt_table(agg)
    assert table.loc[("cifar10s", "cobra"), "EOD_max (Acc)"] == "40.00 (35.0)"
    assert table.loc[("cifar10s", "cobra"), "paper EOD (Acc)"] == "30.38 ± 2.58 (36.32 ± 0.58)"
    assert table.loc[("bffhq", "vanilla"), "EOD_max (Acc)"] == ""  # the paper's other dataset, not run here
    assert table.loc[("bffhq", "vanilla"), "paper EOD (Acc)"] == "32.96 ± 6.55 (61.64 ± 1.09)"
    assert bold.loc[("cifar10s", "cobra"), "EOD_max (Acc)"] and bold.loc[("cifar10s", "vanilla"), "EOD_mean"]
    assert not bold.loc[("cifar10s", "vanilla"), "EOD_max (Acc)"]


def test_expert_gap_follows_both_trajectories(tmp_path) -> None:
    frame = expert_gap("smoke", "cdigits_bg", 2, 0, max_test=200, root=tmp_path, progress=False)
    epochs = resolve("cdigits_bg", "mtt", "cobra", 2, profile="smoke")["distill"]["expert_train_epochs"]
    assert sorted(frame["mode"].unique()) == ["cobra", "vanilla"]
    assert sorted(frame["epoch"].unique()) == list(range(epochs + 1))
    start = frame[frame["epoch"] == 0].set_index("mode")
    assert start.loc["vanilla", "acc"] == start.loc["cobra", "acc"]  # one shared initialisation
    assert frame[["acc", "eod_mean"]].apply(lambda column: column.between(0, 100)).all().all()
    figure = expert_gap_figure(frame)
    assert len(figure.axes) == 2 and all(len(ax.lines) == 2 for ax in figure.axes)
