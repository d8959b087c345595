"""Overhead study: ratios to vanilla from benchmark records; the benchmark run and read back (smoke sizes)."""
import pytest

from cobra_lab.bench.step import IMPLEMENTATIONS, METHOD_NAMES, MODE_NAMES
from cobra_lab.studies.overhead import load_or_run, overhead_table, results_file


def test_ratios_to_vanilla() -> None:
    records = [{"method": "dm", "mode": mode, "groups": 4, "implementation": impl, "seconds": s, "peak_mb": mb}
               for mode, impl, s, mb in (("vanilla", "ours", 0.2, 10.0), ("cobra", "ours", 0.25, 11.0),
                                          ("vanilla", "reference", 0.4, 10.0), ("cobra", "reference", 1.2, 30.0))]
    table = overhead_table({"records": records}).set_index(["implementation", "mode"])
    assert table.loc[("ours", "cobra"), "time_ratio"] == pytest.approx(1.25)
    assert table.loc[("reference", "cobra"), "memory_ratio"] == pytest.approx(3.0)
    assert table.loc[("ours", "vanilla"), "time_ratio"] == 1.0


def test_benchmark_runs_once_then_is_read_back() -> None:
    first = load_or_run("smoke", [2], memory=False)
    assert results_file("smoke").exists()
    configurations = {(m, mode, impl) for m in METHOD_NAMES for mode in MODE_NAMES for impl in IMPLEMENTATIONS}
    assert {r["groups"] for r in first["records"]} == {2}
    assert {(r["method"], r["mode"], r["implementation"]) for r in first["records"]} == configurations
    stamp = results_file("smoke").stat().st_mtime_ns
    assert load_or_run("smoke", [2], memory=False) == first
    assert results_file("smoke").stat().st_mtime_ns == stamp  # not run again
