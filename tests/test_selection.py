"""The selection baselines: seeded draws of real train images, stored and evaluated like a distilled set."""
import json

import pytest
import torch

from cobra_lab.cli import main
from cobra_lab.config import load_presets, profile_names, resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.runner import load_data, run_one
from cobra_lab.schema import typed, validate


@pytest.fixture(autouse=True)
def data_root(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path_factory.getbasetemp() / "data"))


def selected(method: str, seed: int = 0, ipc: int = 10):
    config = resolve("cdigits_bg", method, "vanilla", ipc, profile="smoke", seed=seed)
    data = load_data(config)
    return data, distill(data, typed(config), progress=False)


@pytest.mark.parametrize("method", ["random", "random_balanced"])
def test_a_selection_is_real_train_images_in_class_blocks_and_seeded(method):
    data, chosen = selected(method)
    assert torch.equal(chosen.y, torch.arange(data.num_classes).repeat_interleave(10))
    assert torch.equal(chosen.x, data.train.x[chosen.init_index])
    assert torch.equal(data.train.y[chosen.init_index], chosen.y)
    assert torch.equal(chosen.init_group, data.train.a_observed[chosen.init_index])
    assert chosen.init_index.unique().numel() == chosen.init_index.numel()  # without replacement
    assert chosen.losses == []
    assert torch.equal(selected(method)[1].init_index, chosen.init_index)
    assert not torch.equal(selected(method, seed=1)[1].init_index, chosen.init_index)


def test_random_balanced_splits_each_class_evenly_over_its_groups():
    data, chosen = selected("random_balanced")
    counts = torch.zeros(data.num_classes, data.num_groups, dtype=torch.long)
    counts.index_put_((chosen.y, chosen.init_group), torch.ones_like(chosen.y), accumulate=True)
    assert (counts.max(1).values - counts.min(1).values <= 1).all(), counts
    cells = torch.zeros(data.num_classes, data.num_groups, dtype=torch.long)
    cells.index_put_((data.train.y, data.train.a_observed), torch.ones_like(data.train.y), accumulate=True)
    majority = cells.argmax(1)  # [C] each class's largest group
    _, pooled = selected("random")
    assert (pooled.init_group == majority[pooled.y]).sum() > (chosen.init_group == majority[chosen.y]).sum()


def test_a_selection_takes_no_mode_and_no_distill_section():
    config = resolve("cdigits_bg", "random", "cobra", 2, profile="smoke")
    assert config["mode"] is None and "distill" not in config
    with pytest.raises(UserError, match="random selects real images: mode must be null"):
        validate({**config, "mode": "cobra"}, profile_names(), load_presets())
    with pytest.raises(UserError, match="random distills nothing: its config has no distill section"):
        validate({**config, "distill": {}}, profile_names(), load_presets())


def test_random_runs_stores_and_reads_back_like_any_run(tmp_path, capsys):
    argv = ["run", "--dataset", "cdigits_bg", "--method", "random", "--ipc", "2", "--profile", "smoke", "--quiet",
            "--json", "--out", str(tmp_path)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert 0 <= first["acc"] <= 100 and first["runs"] == 1 and not first["cached"]
    assert first["run_id"].startswith("cdigits_bg-random-ipc2-smoke-s0-")
    assert len(list((tmp_path / "synsets").glob("*/synset.pt"))) == 1
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["cached"] and second["acc"] == first["acc"]
    config = resolve("cdigits_bg", "random", None, 2, profile="smoke")
    assert run_one(config, root=tmp_path, progress=False)["cached"]
