"""How noisy group labels dilute the observed (class, group) cells COBRA averages (notebook 04's explanation)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from cobra_lab.data.bias import skewed_groups
from cobra_lab.data.groups import add_group_noise
from cobra_lab.studies import label_noise
from cobra_lab.studies.label_noise import (
    dilution,
    dilution_figure,
    dilution_sentence,
    dilution_table,
    expected_purity,
    line_position,
    positions_figure,
    positions_sentence,
    save_results,
    synthetic_positions,
)
from cobra_lab.sweep import run_grid


def test_expected_purity_by_hand() -> None:
    assert expected_purity(0.9, 10, 0.0) == (1.0, 1.0)
    minority, majority = expected_purity(0.9, 10, 0.1)
    # a minority cell keeps 0.9 * 1/90 of the class, receives 0.1 * 0.9 / 9 from the majority and
    # 0.1 * 8 / 90 / 9 = 0.8 / 810 from the other minorities; the majority cell keeps 0.81 and receives 0.1 * 0.1
    assert minority == pytest.approx(0.01 / (0.01 + 0.01 + 0.8 / 810))
    assert majority == pytest.approx(0.81 / (0.81 + 0.01 / 9))
    assert expected_purity(0.5, 2, 0.5) == pytest.approx((0.5, 0.5))  # two groups, half flipped: no information


def test_dilution_of_one_hand_made_class() -> None:
    a = torch.tensor([0] * 6 + [1, 1, 2, 2])  # class 0: majority group 0, two images in each minority group
    observed = a.clone()
    observed[0] = 1  # one majority image told it is in group 1
    feats = F.one_hot(a, 3).float()  # [10, 3]: each image's true group
    out = dilution(feats, torch.zeros(10, dtype=torch.long), a, observed, torch.tensor([0]), 1, 3)
    assert out["minority_purity"] == pytest.approx((2 / 3 + 1) / 2)  # cell 1 holds {1, 1, 0}, cell 2 is clean
    assert out["majority_purity"] == 1.0 and out["majority_in_minority"] == pytest.approx((1 / 3 + 0) / 2)
    assert out["cell_shift"] == pytest.approx((1 / 3 + 0) / 2)  # cell 1's mean moved a third of the way to e0
    assert out["target_majority_weight"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    # clean COBRA (1/3, 1/3, 1/3), vanilla (0.6, 0.2, 0.2), noisy COBRA (4/9, 2/9, 3/9): projection 5/12
    assert out["target_shift"] == pytest.approx(5 / 12)
    clean = dilution(feats, torch.zeros(10, dtype=torch.long), a, a, torch.tensor([0]), 1, 3)
    assert clean["minority_purity"] == 1.0 and clean["target_shift"] == 0.0 and clean["cell_shift"] == 0.0


def test_measured_purity_follows_the_expected_one() -> None:
    y = torch.arange(10).repeat_interleave(3000)  # [30000]
    a = skewed_groups(y, torch.arange(10), 10, 0.9, torch.Generator().manual_seed(0))
    for rho in (0.1, 0.3):
        observed = add_group_noise(a, 10, rho, torch.Generator().manual_seed(1))
        out = dilution(F.one_hot(a, 10).float(), y, a, observed, torch.arange(10), 10, 10)
        assert out["minority_purity"] == pytest.approx(expected_purity(0.9, 10, rho)[0], abs=0.03)
        assert out["majority_purity"] == pytest.approx(expected_purity(0.9, 10, rho)[1], abs=0.01)


def test_dilution_table_on_cdigits(isolated_data_root: Path) -> None:
    table = dilution_table(["cdigits_bg"], [0.0, 0.3])
    clean, noisy = table.iloc[0], table.iloc[1]
    assert clean["minority_purity"] == 1.0 and clean["target_shift_embedding"] == 0.0
    assert clean["target_majority_weight"] == pytest.approx(0.1)
    assert noisy["minority_purity"] < 0.5 and 0.3 < noisy["target_shift_embedding"] < 1.0
    assert noisy["target_shift_pixels"] == pytest.approx(noisy["target_shift_embedding"], abs=0.15)
    assert table["majority_share"].iloc[0] == pytest.approx(0.9, abs=0.05)
    sentence = dilution_sentence(table)
    assert f"{100 * noisy['minority_purity']:.0f} % its own group" in sentence
    assert f"weighing the majority group {100 * noisy['target_majority_weight']:.0f} % instead of 10 %" in sentence
    assert sentence.startswith("cdigits_bg: With 90 % of each class in its majority group, at rho 0.3 ")
    assert len(dilution_figure(table).axes) == 2
    assert dilution_sentence(table.iloc[:1]) == "cdigits_bg: no noisy setting measured."


def test_line_position_by_hand() -> None:
    start, end = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[2.0, 0.0], [1.0, 3.0]])  # [C, D]
    feats = torch.tensor([[1.0, 5.0], [1.0, -5.0], [1.0, 1.5]])  # class 0 mean (1, 0): halfway; class 1 at 1.5: 1/4
    y = torch.tensor([0, 0, 1])
    assert line_position(feats, y, 2, start, end) == pytest.approx((0.5 + 0.25) / 2)


def test_synthetic_positions_of_stored_runs(isolated_data_root: Path, tmp_path: Path) -> None:
    grid = label_noise.grid("smoke", ["cdigits_bg"], ["dm"], 10, [0], [0.3], ["cobra"], ["cobra"])
    results = run_grid(grid, root=tmp_path / "store", progress=False)
    positions = synthetic_positions(results).set_index(["mode", "group_noise"])
    assert len(positions) == 2
    for space in ("pixels", "embedding"):
        assert positions.loc[("cobra", 0.0), f"target_{space}"] == pytest.approx(0.0, abs=1e-5)
        assert 0.3 < positions.loc[("cobra", 0.3), f"target_{space}"] < 1.0
        assert positions[f"start_{space}"].nunique() == 1  # every run starts from the same real images
        assert positions.loc[("cobra", 0.0), f"start_{space}"] > 0.5  # mostly majority-group images
    sentence = positions_sentence(positions.reset_index())
    assert f"cdigits_bg rho 0.3: target {positions.loc[('cobra', 0.3), 'target_embedding']:.2f}" in sentence
    assert len(positions_figure(positions.reset_index()).axes) == 1
    written = json.loads(save_results(tmp_path / "results.json", results, dilution_table(["cdigits_bg"], [0.3]),
                                      positions.reset_index()).read_text())
    assert written["bench"] == "04_label_noise" and "machine" in written
    assert [run["group_noise"] for run in written["runs"]] == list(results["group_noise"])
    assert written["runs"][0]["eod_max"] == results["eod_max"].iloc[0]
    stored = written["positions"][1]["target_embedding"]
    assert stored == pytest.approx(positions["target_embedding"].iloc[1], rel=1e-12)
