"""Every study's parameter file expands into valid grids of the runs its notebook shows."""
from __future__ import annotations

import pytest

from cobra_lab.errors import UserError
from cobra_lab.paths import repo_root
from cobra_lab.store import run_id
from cobra_lab.studies import STUDIES, grids_from_file, main_table, notebook_params, study_grids
from cobra_lab.sweep import expand


@pytest.mark.parametrize("name", STUDIES.names())
def test_parameter_file_expands(name: str) -> None:
    configs = expand(grids_from_file(repo_root() / "params" / f"{name}.yaml"))
    assert configs and all(c["profile"] == notebook_params(name)["profile"] for c in configs)


def test_skew_gap_grid_is_two_sweeps_the_gap_one_from_identical_groups() -> None:
    params = {**notebook_params("02_skew_gap"), "skews": [0.6, 0.9], "gaps": [0, 3], "modes": ["cobra"],
              "fixed_skew": 0.9}
    configs = expand(study_grids("02_skew_gap", params))
    settings = {(c["data"]["skew"], c["data"]["gap"], c["data"]["render"]) for c in configs if c["method"] == "dm"}
    assert settings == {(0.6, 0, "clean"), (0.9, 0, "clean"), (0.9, 0, "shared"), (0.9, 3, "shared")}
    assert sum(c["method"] == "full" for c in configs) == 4
    coloured = expand(study_grids("02_skew_gap", {**params, "gap_render": "clean"}))  # the ladder on the colouring
    assert {(c["data"]["skew"], c["data"]["gap"]) for c in coloured if c["method"] == "dm"} == \
        {(0.6, 0), (0.9, 0), (0.9, 3)}  # the two sweeps share a point
    assert sum(c["method"] == "full" for c in coloured) == 3


def test_label_studies_run_vanilla_clean_only() -> None:
    configs = expand(study_grids("05_partial_labels", notebook_params("05_partial_labels")))
    vanilla = [c for c in configs if c["mode"] == "vanilla"]
    assert [c["data"]["known_groups"] for c in vanilla] == [1.0]
    assert sorted(c["data"]["known_groups"] for c in configs if c["mode"] == "cobra") == \
        [0.05, 0.1, 0.25, 0.5, 0.75, 1.0]


def test_main_table_runs_each_selection_baseline_once_per_ipc_without_a_mode() -> None:
    configs = expand(main_table.grid("smoke", ["cdigits_bg"], ["dm"], ["vanilla", "cobra"], [2, 10], [0]))
    picked = sorted((c["method"], c["ipc"], c["mode"]) for c in configs if c["method"].startswith("random"))
    assert picked == [("random", 2, None), ("random", 10, None), ("random_balanced", 2, None),
                      ("random_balanced", 10, None)]
    without = expand(main_table.grid("smoke", ["cdigits_bg"], ["dm"], ["cobra"], [10], [0], baselines=False))
    assert sorted(c["method"] for c in without) == ["dm", "full"]


def test_main_table_paints_the_reference_pixels_only_where_they_differ() -> None:
    datasets = ["cfmnist_fg", "cdigits_bg"]  # painted alike by both codes; painted otherwise by the reference
    clean = expand(main_table.grid("smoke", datasets, ["dm"], ["cobra"], [10], [0]))
    reference = expand(main_table.grid("smoke", datasets, ["dm"], ["cobra"], [10], [0], render="reference"))
    renders = {(c["dataset"], c["method"]): c["data"]["render"] for c in reference}
    assert renders == {(dataset, method): "reference" if dataset == "cdigits_bg" else "clean"
                       for dataset in datasets for method in ("dm", "random", "random_balanced", "full")}
    same = {run_id(c) for c in clean} & {run_id(c) for c in reference}
    assert same == {run_id(c) for c in clean if c["dataset"] == "cfmnist_fg"}
    with pytest.raises(UserError, match="unknown render 'refrence'; choose one of: clean, reference"):
        main_table.grid("smoke", datasets, ["dm"], ["cobra"], [10], [0], render="refrence")


def test_unknown_study_file(tmp_path) -> None:
    path = tmp_path / "mystery.yaml"
    path.write_text("profile: smoke\n")
    with pytest.raises(UserError, match="expected a 'grid:' entry"):
        grids_from_file(path)
    path.write_text("profile: [smoke\n")
    with pytest.raises(UserError, match="not valid YAML"):
        grids_from_file(path)
