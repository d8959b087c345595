"""The distillation loop: determinism, kill-and-resume, and every method x mode runs."""
import pytest
import torch
from engine_fixtures import random_grouped_data, smoke_config

import cobra_lab.checkpoints as checkpoints
import cobra_lab.loops.skeleton as skeleton
import cobra_lab.loops.statistic_matching as statistic_matching
from cobra_lab.loops import distill
from cobra_lab.loops.statistic_matching import image_lr
from cobra_lab.methods import METHODS, StatisticMethod

# the methods the statistic loop drives (MTT's trajectory loop: tests/test_mtt.py)
LOOP_METHODS = [name for name in METHODS.names() if issubclass(METHODS.get(name), StatisticMethod)]


@pytest.mark.parametrize("method", LOOP_METHODS)
@pytest.mark.parametrize("mode", ["vanilla", "fairdd", "cobra", "df"])
def test_runs_and_moves_images(method, mode):
    data = random_grouped_data()
    synset = distill(data, smoke_config(method, mode), progress=False)
    assert synset.x.shape == (8, 3, 16, 16) and synset.y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert not torch.allclose(synset.x, data.train.x[synset.init_index])
    assert torch.equal(synset.init_group, data.train.a_observed[synset.init_index])


@pytest.mark.parametrize("method", LOOP_METHODS)
def test_same_config_and_seed_give_the_same_set(method):
    data = random_grouped_data()
    first = distill(data, smoke_config(method, "cobra"), progress=False)
    second = distill(data, smoke_config(method, "cobra"), progress=False)
    other = distill(data, smoke_config(method, "cobra", seed=1), progress=False)
    assert torch.equal(first.x, second.x)
    assert not torch.equal(first.x, other.x)


class Killed(Exception):
    pass


@pytest.mark.parametrize("method", LOOP_METHODS)
def test_kill_and_resume_gives_the_uninterrupted_result(method, tmp_path, monkeypatch):
    data = random_grouped_data()
    config = smoke_config(method, "cobra", iterations=6)
    uninterrupted = distill(data, config, progress=False)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_FRACTION", 1 / 6)  # checkpoint every iteration
    calls = {"n": 0}
    method_class = METHODS.get(method)
    original = method_class.prepare

    def dying_prepare(self, *args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise Killed()
        return original(self, *args)

    checkpoint = tmp_path / "checkpoint.pt"
    monkeypatch.setattr(method_class, "prepare", dying_prepare)
    with pytest.raises(Killed):
        distill(data, config, checkpoint=checkpoint, progress=False)
    assert checkpoint.exists()
    assert int(torch.load(checkpoint, weights_only=True)["iteration"]) == 4
    monkeypatch.undo()
    resumed = distill(data, config, checkpoint=checkpoint, progress=False)
    assert torch.equal(resumed.x, uninterrupted.x)
    assert resumed.losses == pytest.approx(uninterrupted.losses)


def nan_learning_rate(monkeypatch):
    """A NaN image learning rate (no config can hold one): the images turn NaN after the first step, so the
    second loss is NaN."""
    monkeypatch.setattr(statistic_matching, "image_lr", lambda settings, iteration: float("nan"))


def test_a_diverging_distillation_stops_with_a_one_line_error(monkeypatch):
    from cobra_lab.errors import UserError
    nan_learning_rate(monkeypatch)
    with pytest.raises(UserError, match="diverged at iteration 2 \\(loss nan\\); the run is not stored: try a"):
        distill(random_grouped_data(), smoke_config("dm", "cobra"), progress=False)


def test_losses_read_back_in_batches_give_the_same_run_and_the_same_divergence_error(monkeypatch):
    from cobra_lab.errors import UserError
    data = random_grouped_data()
    config = smoke_config("dm", "cobra", iterations=5)
    every_iteration = distill(data, config, progress=False)
    monkeypatch.setattr(skeleton, "loss_reads_every", lambda device: 3)  # as on a GPU: reads lag the steps
    batched = distill(data, config, progress=False)
    assert torch.equal(batched.x, every_iteration.x) and batched.losses == every_iteration.losses
    nan_learning_rate(monkeypatch)
    with pytest.raises(UserError, match="diverged at iteration 2"):
        distill(data, config, progress=False)


def test_the_image_learning_rate_halves_at_the_given_iterations():
    settings = smoke_config("dm", "cobra", lr_img=0.1, lr_img_halve_at=[3, 5]).distill
    assert [image_lr(settings, iteration) for iteration in range(6)] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025]
    assert image_lr(smoke_config("dm", "cobra", lr_img=0.1).distill, 99) == 0.1


def test_kill_and_resume_follow_the_learning_rate_schedule(tmp_path, monkeypatch):
    data = random_grouped_data()
    config = smoke_config("cafe", "cobra", iterations=4, lr_img_halve_at=[2, 3])
    uninterrupted = distill(data, config, progress=False)
    assert not torch.equal(uninterrupted.x, distill(data, smoke_config("cafe", "cobra", iterations=4),
                                                    progress=False).x)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_FRACTION", 1 / 4)
    calls = {"n": 0}
    original = METHODS.get("cafe").prepare

    def dying_prepare(self, *args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Killed()
        return original(self, *args)

    monkeypatch.setattr(METHODS.get("cafe"), "prepare", dying_prepare)
    with pytest.raises(Killed):
        distill(data, config, checkpoint=tmp_path / "checkpoint.pt", progress=False)
    monkeypatch.undo()
    resumed = distill(data, config, checkpoint=tmp_path / "checkpoint.pt", progress=False)
    assert torch.equal(resumed.x, uninterrupted.x)


@pytest.mark.parametrize("method", ["dm", "dc", "mtt"])
def test_the_set_after_k_iterations_of_a_long_run_is_the_k_iteration_run(method):
    data = random_grouped_data()
    snapshots = {}

    def keep(done, snapshot):
        if done in (2, 3):
            snapshots[done] = snapshot()

    longest = distill(data, smoke_config(method, "cobra", iterations=4), progress=False, on_iteration=keep)
    for k, snapshot in snapshots.items():
        alone = distill(data, smoke_config(method, "cobra", iterations=k), progress=False)
        assert torch.equal(snapshot.x, alone.x) and snapshot.losses == alone.losses
        assert not torch.equal(snapshot.x, longest.x)
    assert sorted(snapshots) == [2, 3] and 0 < snapshots[2].seconds <= snapshots[3].seconds
