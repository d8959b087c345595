"""A method defined outside the package, registered and given a profile entry the way a user would: its own
distill section and rule are checked and it gets a run id, with nothing in schema.py naming it."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from engine_fixtures import changed, random_grouped_data

from cobra_lab import config as config_module
from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.methods import METHODS
from cobra_lab.methods.dm import DM, DMDistill
from cobra_lab.options import boolean, integer, option
from cobra_lab.schema import typed
from cobra_lab.sections import RunConfig
from cobra_lab.store import run_id, synset_id


@dataclass(frozen=True, kw_only=True)
class ToyDistill(DMDistill):
    """DM's options and one of the toy's own."""

    steps_per_net: int = option(integer(1))
    warm_start: bool = option(boolean, False)


class Toy(DM):
    """DM with several image steps per fresh network."""

    name = "toy"
    section = ToyDistill

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        if config.distill.steps_per_net > config.distill.iterations:
            raise UserError(f"distill.steps_per_net={config.distill.steps_per_net} is more than "
                            f"distill.iterations={config.distill.iterations}")

    def rounds(self) -> int:
        return self.settings.steps_per_net


@pytest.fixture
def toy_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The toy registered for this test, and a params folder whose smoke profile has a ``methods: toy:`` entry."""
    monkeypatch.setitem(METHODS._factories, "toy", Toy)  # what @METHODS.register("toy") does, undone after
    params = Path(config_module.params_dir())
    shutil.copy(params / "presets.yaml", tmp_path / "presets.yaml")
    (tmp_path / "profiles").mkdir()
    profile = yaml.safe_load((params / "profiles" / "smoke.yaml").read_text())
    profile["methods"]["toy"] = {"distill": {**profile["methods"]["dm"]["distill"], "steps_per_net": 2},
                                 "eval": profile["methods"]["dm"]["eval"]}
    (tmp_path / "profiles" / "smoke.yaml").write_text(yaml.safe_dump(profile))
    monkeypatch.setattr(config_module, "PARAMS_DIR", tmp_path)
    return "smoke"


def test_a_new_method_resolves_with_its_own_section(toy_profile: str) -> None:
    config = resolve("cdigits_bg", "toy", "cobra", 2, profile=toy_profile)
    assert list(config["distill"]) == ToyDistill.keys()
    assert config["distill"]["steps_per_net"] == 2 and config["distill"]["warm_start"] is False
    assert config["distill"]["compile"] is False  # the shared options' defaults complete it too
    assert run_id(config).startswith("cdigits_bg-toy-cobra-ipc2-smoke-s0-")
    other = resolve("cdigits_bg", "toy", "cobra", 2, profile=toy_profile, overrides={"distill.steps_per_net": 3})
    assert run_id(other) != run_id(config) and synset_id(other) != synset_id(config)
    assert METHODS.build("toy", typed(config), (3, 16, 16), 10).rounds() == 2


@pytest.mark.parametrize("overrides, message", [
    ({"distill.steps_per_net": 0}, "distill.steps_per_net must be an integer >= 1, got 0"),
    ({"distill.warm_start": "yes"}, "distill.warm_start must be true or false, got 'yes'"),
    ({"distill.steps_per_net": 9}, "distill.steps_per_net=9 is more than distill.iterations=4"),
    ({"distill.steps": 2}, "unknown config key 'distill.steps'"),
    ({"mode": "vanilla", "distill.discrepancy": "l1"}, "distill.discrepancy=l1 needs mode cobra"),
])
def test_a_new_method_refuses_bad_values_in_one_line(toy_profile: str, overrides: dict, message: str) -> None:
    with pytest.raises(UserError) as error:
        resolve("cdigits_bg", "toy", "cobra", 2, profile=toy_profile, overrides=overrides)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_new_method_distills_through_the_shared_loop(toy_profile: str) -> None:
    config = resolve("cdigits_bg", "toy", "cobra", 2, profile=toy_profile, overrides={"distill.iterations": 2})
    data = random_grouped_data()
    synset = distill(data, typed(config), progress=False)
    assert synset.x.shape == (2 * data.num_classes, *data.image_shape)
    assert all(torch.isfinite(torch.tensor(synset.losses)))
    one_step = distill(data, changed(typed(config), "distill", steps_per_net=1), progress=False)
    assert not torch.equal(synset.x, one_step.x)  # the toy's own option reaches the loop
