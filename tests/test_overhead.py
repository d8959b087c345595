"""Overhead study: ratios to vanilla, the paper's Tables 13 and 14 beside ours, the sentences read from them; the
benchmark run on real images and read back (smoke sizes)."""
import math

import pytest
import torch

from cobra_lab.bench.real_batches import real_batches
from cobra_lab.bench.step import IMPLEMENTATIONS, MODE_NAMES
from cobra_lab.data import load
from cobra_lab.errors import UserError
from cobra_lab.paper import find
from cobra_lab.studies.overhead import TABLE_METHODS, load_or_run, overhead_table, results_file
from cobra_lab.studies.overhead_tables import differences, groups_table, natural_groups_table, reading


def record(method: str, mode: str, groups: int, implementation: str, seconds: float, mb: float) -> dict:
    """One benchmark record with a mean of ``seconds`` and a tenth of it as std."""
    return {"method": method, "mode": mode, "groups": groups, "implementation": implementation, "seconds": seconds,
            "mean_seconds": seconds, "std_seconds": seconds / 10, "peak_mb": mb / 2, "peak_total_mb": mb}


def test_ratios_to_vanilla() -> None:
    records = [record("dm", mode, 4, impl, s, mb)
               for mode, impl, s, mb in (("vanilla", "ours", 0.2, 10.0), ("cobra", "ours", 0.25, 11.0),
                                          ("vanilla", "reference", 0.4, 10.0), ("cobra", "reference", 1.2, 30.0))]
    table = overhead_table({"records": records}).set_index(["implementation", "mode"])
    assert table.loc[("ours", "cobra"), "time_ratio"] == pytest.approx(1.25)
    assert table.loc[("reference", "cobra"), "memory_ratio"] == pytest.approx(3.0)
    assert table.loc[("ours", "vanilla"), "time_ratio"] == 1.0
    assert table.loc[("ours", "cobra"), "ms_std"] == pytest.approx(25.0)


def test_table13_layout_puts_the_papers_numbers_beside_ours() -> None:
    records = [record(m, mode, g, "ours", s * (1 + (mode == "cobra") * g / 4), 100.0 + (mode == "cobra") * g)
               for m, s in (("dc", 0.08), ("dm", 0.02)) for g in (2, 10) for mode in ("vanilla", "cobra")]
    table = groups_table(overhead_table({"records": records}))
    assert list(table["method"]) == ["dc"] * 3 + ["dm"] * 3
    assert list(table["mode"]) == ["vanilla", "cobra", "cobra"] * 2
    dc10 = table[(table["method"] == "dc") & (table["groups"] == 10)].iloc[0]
    assert dc10["slowdown"] == pytest.approx(1 + 10 / 4) and dc10["mem_mult"] == pytest.approx(110 / 100)
    paper_vanilla, paper_cobra = find(13, method="dc", mode="vanilla", groups=None), find(13, method="dc",
                                                                                             mode="cobra", groups=10)
    assert dc10["paper_ms"] == paper_cobra["ms"] and dc10["paper_ms_std"] == paper_cobra["ms_std"]
    assert dc10["paper_slowdown"] == pytest.approx(paper_cobra["ms"] / paper_vanilla["ms"])
    vanilla = table.iloc[0]
    assert math.isnan(vanilla["groups"]) and vanilla["paper_mb"] == paper_vanilla["mb"]
    sentence = reading(table, natural_groups_table({"bffhq": "bffhq files not found"}), "cdigits_bg", "peak X (MB)")
    assert f"DC {dc10['slowdown']:.2f}x vanilla's time" in sentence and f"{dc10['paper_slowdown']:.2f}x" in sentence
    assert "not measured" in sentence and "bffhq" in sentence


def test_table14_rows_for_measured_and_absent_datasets() -> None:
    measured = {"records": [record(m, mode, 2, "ours", 0.1 * (1 + (mode == "cobra")), 50.0)
                            for m in TABLE_METHODS for mode in MODE_NAMES], "settings": {"groups": [2]}}
    table = natural_groups_table({"cifar10s": measured, "bffhq": "bffhq: files not found"}).set_index(
        ["dataset", "method"])
    ours = table.loc[("cifar10s", "dc")]
    assert ours["slowdown"] == pytest.approx(2.0) and ours["mem_mult"] == 1.0 and ours["note"] == ""
    paper = find(14, dataset="cifar10s", method="dc", mode="cobra")
    assert ours["paper_cobra_ms"] == paper["ms"] and ours["groups"] == paper["groups"]
    unmeasured = {**measured, "records": [{**r, "peak_total_mb": None} for r in measured["records"]]}
    assert math.isnan(natural_groups_table({"cifar10s": unmeasured})["mem_mult"][0])  # memory not measured
    absent = table.loc[("bffhq", "dm")]
    assert math.isnan(absent["cobra_ms"]) and absent["note"] == "bffhq: files not found"
    assert absent["paper_cobra_ms"] == find(14, dataset="bffhq", method="dm", mode="cobra")["ms"]


def test_differences_name_each_departure_from_the_papers_setting() -> None:
    assert differences("paper", "cfmnist_bg", [10, 2, 4, 6, 8], 120, 10).endswith("in: nothing but the machine.")
    sentence = differences("quick", "cdigits_bg", [2], 120, 10)
    assert "dataset cdigits_bg (paper: cfmnist_bg)" in sentence and "groups [2]" in sentence
    assert "steps" not in sentence and "quick profile" in sentence


def test_real_batches_merge_groups_and_keep_real_images() -> None:
    data = load("cdigits_bg")
    merged = real_batches("cdigits_bg", 3, 20, seed=0)
    assert merged.num_groups == 3 and int(merged.train.a.max()) == 2
    assert torch.equal(merged.train.y.bincount(), torch.full((data.num_classes,), 20))
    first = merged.train.x[0]
    assert any(torch.equal(first, image) for image in data.train.x)  # a real training image, not noise
    with pytest.raises(UserError, match="has 10 groups"):
        real_batches("cdigits_bg", 12, 20, seed=0)


def test_benchmark_runs_once_then_is_read_back_and_reruns_when_settings_change() -> None:
    first = load_or_run("smoke", [2], memory=False, dataset="cdigits_bg", methods=["dm"])
    path = results_file("smoke", "cdigits_bg")
    assert path.exists() and first["settings"]["dataset"] == "cdigits_bg"
    assert {(r["groups"], r["method"]) for r in first["records"]} == {(2, "dm")}
    assert {(r["mode"], r["implementation"]) for r in first["records"]} == {
        (mode, impl) for mode in MODE_NAMES for impl in IMPLEMENTATIONS}
    stamp = path.stat().st_mtime_ns
    assert load_or_run("smoke", [2], memory=False, dataset="cdigits_bg", methods=["dm"]) == first
    assert path.stat().st_mtime_ns == stamp  # not run again
    again = load_or_run("smoke", [2], memory=False, dataset="cdigits_bg", methods=["dc"])
    assert {r["method"] for r in again["records"]} == {"dc"}  # other settings: measured afresh
