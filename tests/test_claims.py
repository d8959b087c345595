"""The paper's claims (cobra_lab/claims.yaml): each claim holds on a hand-built table where the paper's finding is
true and fails where it is reversed; differences within the spread are "within noise"; results that cannot answer
a claim give "not measured" with the reason; every study notebook checks its claims and writes claims.csv."""
from __future__ import annotations

import math

import nbformat
import pandas as pd
import pytest
import torch

from cobra_lab import claims
from cobra_lab.paths import repo_root
from cobra_lab.studies.image_grids import colour_spread

STUDIES_WITH_CLAIMS = ["01_main_table", "02_skew_gap", "03_semantic_gap", "04_label_noise", "05_partial_labels",
                       "06_tsne", "07_image_grids", "08_residuals", "09_discrepancy", "10_cross_arch", "11_low_ipc",
                       "12_interventions", "13_overhead", "14_mtt"]
SETTING = {"dataset": "cfmnist_bg", "method": "dm", "mode": "vanilla", "ipc": 10, "profile": "smoke", "preset": None,
           "skew": 0.9, "gap": 0, "semantic_gap": 0.0, "group_noise": 0.0, "known_groups": 1.0, "render": "clean"}


def agg(*rows: dict, std: float = 1.0) -> pd.DataFrame:
    """Aggregated results as ``sweep.aggregate`` gives them: the setting columns, then the metrics with a std."""
    out = []
    for row in rows:
        full = {**SETTING, **row, "seeds": 1}
        for key in ("acc", "eod_mean", "eod_max"):
            full.setdefault(key, 50.0)
            full[f"{key}_std"] = std
        out.append(full)
    return pd.DataFrame(out)


def modes(values: dict[str, float], column: str = "eod_max", **setting) -> list[dict]:
    """One row per mode with ``column`` at the given value."""
    return [{"mode": mode, column: number, **setting} for mode, number in values.items()]


def sweep(mode: str, knob: str, values: dict[float, float], column: str = "eod_max", **setting) -> list[dict]:
    """One row per value of ``knob`` for ``mode``."""
    return [{"mode": mode, knob: at, column: number, **setting} for at, number in values.items()]


def plain(**columns: list) -> pd.DataFrame:
    """A table with no std columns (a single measurement)."""
    return pd.DataFrame(columns)


def overhead(cobra_ms: dict[int, float], mem_mult: float) -> pd.DataFrame:
    """Table 13's layout: vanilla's row (groups NaN), then COBRA's per G."""
    rows = [{"method": "dm", "groups": math.nan, "mode": "vanilla", "ms": 10.0, "ms_std": 0.5, "mem_mult": 1.0}]
    rows += [{"method": "dm", "groups": g, "mode": "cobra", "ms": ms, "ms_std": 0.5, "mem_mult": mem_mult}
             for g, ms in cobra_ms.items()]
    return pd.DataFrame(rows)


def interventions(values: dict[str, float]) -> pd.DataFrame:
    """``interventions.labelled`` rows: one per intervention, each with its own mode and options."""
    options = {"vanilla": ("vanilla", "plain"), "RF": ("vanilla", "fair"), "DF": ("df", "plain"),
               "MF": ("vanilla", "plain"), "COBRA": ("cobra", "plain")}
    return agg(*[{"intervention": name, "mode": options[name][0], "distill.extractor": options[name][1],
                  "eod_max": number} for name, number in values.items()])


FULL = {"method": "full", "ipc": math.nan}  # FULL rows: mode "full", no IPC
# claim id -> (a table where the claim holds, one where it fails)
FIXTURES = {
    "main-cobra-below-vanilla": (agg(*modes({"vanilla": 80, "cobra": 10})), agg(*modes({"vanilla": 10, "cobra": 80}))),
    "main-cobra-lowest": (agg(*modes({"vanilla": 80, "fairdd": 30, "cobra": 10})),
                          agg(*modes({"vanilla": 80, "fairdd": 10, "cobra": 30}))),
    "main-cobra-accuracy": (agg(*modes({"vanilla": 40, "cobra": 60}, "acc")),
                            agg(*modes({"vanilla": 60, "cobra": 40}, "acc"))),
    "main-bias-grows-as-ipc-falls": (agg(*sweep("vanilla", "ipc", {1: 90, 50: 40})),
                                     agg(*sweep("vanilla", "ipc", {1: 40, 50: 90}))),
    "skew-vanilla-rises": ({"skew": agg(*sweep("vanilla", "skew", {0.5: 30, 0.9: 80}))},
                           {"skew": agg(*sweep("vanilla", "skew", {0.5: 80, 0.9: 30}))}),
    "skew-cobra-lowest": ({"skew": agg(*modes({"vanilla": 60, "cobra": 10}, skew=0.5),
                                       *modes({"vanilla": 80, "cobra": 12}, skew=0.9))},
                          {"skew": agg(*modes({"vanilla": 60, "cobra": 10}, skew=0.5),
                                       *modes({"vanilla": 12, "cobra": 80}, skew=0.9))}),
    "gap-zero-at-identical-groups": ({"gap": agg(*modes({"vanilla": 0, "cobra": 0}, gap=0, render="shared"))},
                                     {"gap": agg(*modes({"vanilla": 5, "cobra": 0}, gap=0, render="shared"))}),
    "gap-vanilla-jumps": ({"gap": agg(*sweep("vanilla", "gap", {0: 0, 1: 40, 3: 60}))},
                          {"gap": agg(*sweep("vanilla", "gap", {0: 20, 1: 5, 3: 60}))}),
    "gap-cobra-lowest": ({"gap": agg(*modes({"vanilla": 0, "cobra": 0}, gap=0),
                                     *modes({"vanilla": 60, "fairdd": 20, "cobra": 10}, gap=2))},
                         {"gap": agg(*modes({"vanilla": 0, "cobra": 0}, gap=0),
                                     *modes({"vanilla": 60, "fairdd": 5, "cobra": 10}, gap=2))}),
    "gap-accuracy-falls": ({"gap": agg(*sweep("vanilla", "gap", {0: 60, 2: 40}, "acc"),
                                       *sweep("cobra", "gap", {0: 60, 2: 45}, "acc"))},
                           {"gap": agg(*sweep("vanilla", "gap", {0: 60, 2: 40}, "acc"),
                                       *sweep("cobra", "gap", {0: 45, 2: 60}, "acc"))}),
    "semantic-vanilla-rises": (agg(*sweep("vanilla", "semantic_gap", {1: 40, 4: 70})),
                               agg(*sweep("vanilla", "semantic_gap", {1: 70, 4: 40}))),
    "semantic-full-flat": (agg(*sweep("full", "semantic_gap", {1: 50, 4: 51}, **FULL),
                               *sweep("vanilla", "semantic_gap", {1: 40, 4: 70})),
                           agg(*sweep("full", "semantic_gap", {1: 40, 4: 80}, **FULL),
                               *sweep("vanilla", "semantic_gap", {1: 50, 4: 51}))),
    "semantic-cobra-below-vanilla": (agg(*modes({"vanilla": 60, "cobra": 15}, semantic_gap=1)),
                                     agg(*modes({"vanilla": 15, "cobra": 60}, semantic_gap=1))),
    "semantic-cobra-accuracy": (agg(*modes({"vanilla": 35, "cobra": 45}, "acc", semantic_gap=1)),
                                agg(*modes({"vanilla": 45, "cobra": 35}, "acc", semantic_gap=1))),
    "noise-cobra-below-vanilla": (agg(*modes({"vanilla": 80, "cobra": 10}), {"mode": "cobra", "group_noise": 0.5,
                                                                            "eod_max": 30}),
                                  agg(*modes({"vanilla": 80, "cobra": 10}), {"mode": "cobra", "group_noise": 0.5,
                                                                            "eod_max": 90})),
    "noise-cobra-degrades": (agg(*sweep("cobra", "group_noise", {0.0: 10, 0.5: 30})),
                             agg(*sweep("cobra", "group_noise", {0.0: 30, 0.5: 10}))),
    "partial-cobra-below-vanilla": (agg(*modes({"vanilla": 80, "cobra": 10}), {"mode": "cobra", "known_groups": 0.5,
                                                                              "eod_max": 20}),
                                    agg(*modes({"vanilla": 80, "cobra": 10}), {"mode": "cobra", "known_groups": 0.5,
                                                                              "eod_max": 90})),
    "partial-advantage-at-5-percent": (agg({"mode": "vanilla", "eod_max": 80},
                                           {"mode": "cobra", "known_groups": 0.05, "eod_max": 30}),
                                       agg({"mode": "vanilla", "eod_max": 80},
                                           {"mode": "cobra", "known_groups": 0.05, "eod_max": 95})),
    "partial-fewer-labels-worse": (agg(*sweep("cobra", "known_groups", {0.1: 30, 1.0: 10})),
                                   agg(*sweep("cobra", "known_groups", {0.1: 10, 1.0: 30}))),
    "tsne-groups-mixed": (plain(mode=["vanilla", "cobra"], group_purity=[0.9, 0.3]),
                          plain(mode=["vanilla", "cobra"], group_purity=[0.3, 0.9])),
    "tsne-classes-separated": (plain(mode=["vanilla", "cobra"], class_purity=[0.5, 0.8]),
                               plain(mode=["vanilla", "cobra"], class_purity=[0.8, 0.5])),
    "images-background-diversity": (plain(mode=["vanilla", "cobra"], colour_spread=[0.01, 0.2]),
                                    plain(mode=["vanilla", "cobra"], colour_spread=[0.2, 0.01])),
    "residual-mean-below-vanilla": (plain(method=["dm"], distilled_set=["cobra"], cobra_target_mean=[1.0],
                                          vanilla_target_mean=[3.0]),
                                    plain(method=["dm"], distilled_set=["cobra"], cobra_target_mean=[3.0],
                                          vanilla_target_mean=[1.0])),
    "residual-every-class": (plain(method=["dm", "dm"], distilled_set=["vanilla", "cobra"],
                                   cobra_below_vanilla=[1.0, 1.0]),
                             plain(method=["dm", "dm"], distilled_set=["vanilla", "cobra"],
                                   cobra_below_vanilla=[1.0, 0.9])),
    "discrepancy-every-one-below-vanilla": (
        agg({"mode": "vanilla", "eod_max": 80}, *({"mode": "cobra", "distill.discrepancy": d, "eod_max": 20}
                                                  for d in ("sq", "l2"))),
        agg({"mode": "vanilla", "eod_max": 80}, {"mode": "cobra", "distill.discrepancy": "sq", "eod_max": 20},
            {"mode": "cobra", "distill.discrepancy": "l2", "eod_max": 95})),
    "arch-cobra-below-vanilla": (agg(*(row for arch in ("convnet", "alexnet")
                                       for row in modes({"vanilla": 70, "cobra": 20}, **{"eval.arch": arch}))),
                                 agg(*modes({"vanilla": 70, "cobra": 20}, **{"eval.arch": "convnet"}),
                                     *modes({"vanilla": 20, "cobra": 70}, **{"eval.arch": "alexnet"}))),
    "arch-cobra-lowest": (agg(*modes({"vanilla": 70, "fairdd": 30, "cobra": 20}, **{"eval.arch": "vgg11"})),
                          agg(*modes({"vanilla": 70, "fairdd": 10, "cobra": 20}, **{"eval.arch": "vgg11"}))),
    "arch-cobra-accuracy": (agg(*modes({"vanilla": 40, "cobra": 55}, "acc", **{"eval.arch": "resnet18"})),
                            agg(*modes({"vanilla": 55, "cobra": 40}, "acc", **{"eval.arch": "resnet18"}))),
    "low-ipc-bias-grows": (agg(*sweep("vanilla", "ipc", {1: 60, 5: 30})),
                           agg(*sweep("vanilla", "ipc", {1: 30, 5: 60}))),
    "low-ipc-cobra-lowest": (agg(*modes({"vanilla": 60, "fairdd": 20, "cobra": 10}, ipc=1)),
                             agg(*modes({"vanilla": 60, "fairdd": 20, "cobra": 40}, ipc=1))),
    "interventions-cobra-best": (interventions({"vanilla": 90, "RF": 85, "DF": 30, "MF": 80, "COBRA": 10}),
                                 interventions({"vanilla": 90, "RF": 85, "DF": 5, "MF": 80, "COBRA": 10})),
    "interventions-df-strongest-baseline": (interventions({"RF": 85, "DF": 30, "MF": 80}),
                                            interventions({"RF": 85, "DF": 30, "MF": 10})),
    "overhead-time-grows": (overhead({2: 12.0, 10: 30.0}, 1.0), overhead({2: 30.0, 10: 12.0}, 1.0)),
    "overhead-memory-modest": (overhead({2: 12.0}, 1.1), overhead({2: 12.0}, 2.5)),
    "mtt-cobra-below-vanilla": (agg(*modes({"vanilla": 40, "cobra": 10}, method="mtt")),
                                agg(*modes({"vanilla": 10, "cobra": 40}, method="mtt"))),
}


def checked(claim: claims.Claim, results: pd.DataFrame | dict) -> dict:
    """One claim's row of the claims table for ``results``."""
    return claims.evaluate(claim, results if isinstance(results, dict) else {claims.DEFAULT_TABLE: results})


CLAIMS = claims.registry()


def test_every_study_notebook_has_a_claim_and_ids_are_unique() -> None:
    assert {claim.study for claim in CLAIMS} == set(STUDIES_WITH_CLAIMS)
    assert len({claim.id for claim in CLAIMS}) == len(CLAIMS)
    assert all(claim.check in claims.CHECKS.names() for claim in CLAIMS)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_holds_and_fails_on_its_fixtures(claim: claims.Claim) -> None:
    assert claim.id in FIXTURES, f"claim {claim.id} has no fixture tables (one where it holds, one where it fails)"
    holding, failing = FIXTURES[claim.id]
    assert checked(claim, holding)["verdict"] == "holds", checked(claim, holding)
    assert checked(claim, failing)["verdict"] == "fails", checked(claim, failing)


def by_id(name: str) -> claims.Claim:
    """The registered claim ``name``."""
    return next(claim for claim in CLAIMS if claim.id == name)


def test_a_difference_within_the_spread_is_within_noise() -> None:
    close = agg(*modes({"vanilla": 50, "cobra": 45}), std=5.0)  # 5 apart, spread hypot(5, 5) ~ 7.1
    row = checked(by_id("main-cobra-below-vanilla"), close)
    assert row["verdict"] == "within noise"
    assert "45.00 ± 5.00" in row["numbers"] and "within the spread" in row["why"]
    apart = agg(*modes({"vanilla": 50, "cobra": 40}), std=5.0)  # 10 apart: beyond it
    assert checked(by_id("main-cobra-below-vanilla"), apart)["verdict"] == "holds"


def test_a_standard_error_is_the_spread_where_there_is_no_std() -> None:
    close = plain(mode=["vanilla", "cobra"], group_purity=[0.44, 0.43], group_purity_se=[0.02, 0.02])
    row = checked(by_id("tsne-groups-mixed"), close)
    assert row["verdict"] == "within noise" and "0.43 ± 0.02" in row["numbers"]
    apart = plain(mode=["vanilla", "cobra"], group_purity=[0.6, 0.3], group_purity_se=[0.02, 0.02])
    assert checked(by_id("tsne-groups-mixed"), apart)["verdict"] == "holds"


def test_one_cell_against_the_claim_fails_it_however_many_support_it() -> None:
    table = agg(*modes({"vanilla": 80, "cobra": 10}, ipc=10), *modes({"vanilla": 80, "cobra": 10}, ipc=50),
                *modes({"vanilla": 10, "cobra": 80}, ipc=100))
    assert checked(by_id("main-cobra-below-vanilla"), table)["verdict"] == "fails"


@pytest.mark.parametrize("name, results, reason", [
    ("main-cobra-lowest", agg(*modes({"vanilla": 80, "cobra": 10})), "no run with mode fairdd"),
    ("main-bias-grows-as-ipc-falls", agg(*modes({"vanilla": 80, "cobra": 10})), "one ipc value"),
    ("gap-zero-at-identical-groups", {"gap": agg(*modes({"vanilla": 30, "cobra": 9}, gap=0, render="clean"))},
     "needs render shared; this run has render clean"),
    ("partial-advantage-at-5-percent", agg({"mode": "vanilla"}, {"mode": "cobra", "known_groups": 0.5}),
     "no run with mode cobra, known_groups 0.05"),
    ("tsne-groups-mixed", plain(mode=["vanilla", "cobra"], class_purity=[0.5, 0.8]), "no column 'group_purity'"),
    ("overhead-memory-modest", overhead({2: 12.0}, math.nan), "mem_mult was not measured"),
    ("mtt-cobra-below-vanilla", None, "no finished runs"),
])
def test_results_that_cannot_answer_say_why(name: str, results, reason: str) -> None:
    row = checked(by_id(name), results)
    assert row["verdict"] == "not measured" and reason in row["why"], row


def test_show_claims_writes_claims_csv_and_reads_it_in_a_sentence(tmp_path, capsys) -> None:
    results = {"skew": agg(*sweep("vanilla", "skew", {0.5: 30, 0.9: 80})),
               "gap": agg(*modes({"vanilla": 0, "cobra": 0}, gap=0, render="shared"),
                          *modes({"vanilla": 50, "cobra": 48}, gap=2, render="shared"), std=3.0)}
    table = claims.show_claims("02_skew_gap", results, tmp_path)
    written = pd.read_csv(tmp_path / "claims.csv", keep_default_na=False)
    assert list(written.columns) == claims.COLUMNS and len(written) == len(claims.study_claims("02_skew_gap"))
    assert set(written["verdict"]) <= set(claims.VERDICTS)
    assert written["verdict"].tolist() == table["verdict"].tolist()
    assert dict(zip(written["claim"], written["verdict"]))["COBRA has the lowest EOD at every GAP >= 1"] == \
        "within noise"
    counts = table["verdict"].value_counts()
    printed = capsys.readouterr().out
    assert f"Of the paper's {len(table)} claims" in printed and f"{counts['holds']} hold" in printed


def test_colour_spread_is_zero_for_one_colour_per_class() -> None:
    uniform = torch.zeros(4, 3, 4, 4)
    uniform[2:, 0] = 1.0  # class 1 red, class 0 black: one colour each
    mixed = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 0, 1, 1])
    spread = colour_spread({"vanilla": uniform, "cobra": mixed}, {"vanilla": labels, "cobra": labels})
    assert spread["colour_spread"].iloc[0] == 0.0 and spread["colour_spread"].iloc[1] > 0.0
    assert spread["colour_spread_se"].iloc[0] == 0.0 and spread["colour_spread_se"].iloc[1] > 0.0


@pytest.mark.parametrize("study", STUDIES_WITH_CLAIMS)
def test_every_study_notebook_checks_its_claims(study: str) -> None:
    notebook = nbformat.read(repo_root() / "notebooks" / f"{study}.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert f'show_claims("{study}", ' in code and "out)" in code
