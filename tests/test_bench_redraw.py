"""Smoke test of benchmarks/bench_redraw.py: one timed move, the summary line's format (no time asserted)."""
import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_redraw.py"
SUMMARY = re.compile(r"redraw median=(\d+\.\d{3}) max=(\d+\.\d{3}) cpu median=(\d+\.\d{3}) \| budget 1 s \| "
                     r"median/budget=(\d+\.\d{3})")


@pytest.fixture(scope="module")
def bench():
    """benchmarks/bench_redraw.py loaded as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_redraw", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_move_ends_with_the_summary_line(bench, capsys):
    assert bench.main(["--moves", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("load average ")
    assert lines[1].startswith("skew 0.6   gap 0 cobra   : ")
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    median, worst, cpu, ratio = map(float, match.groups())
    assert median == worst > 0 and cpu > 0 and ratio == pytest.approx(median / 1, abs=1e-3)


def test_an_unknown_dataset_is_one_line(bench):
    with pytest.raises(SystemExit, match="unknown dataset 'cdigit'"):
        bench.main(["--dataset", "cdigit", "--moves", "1"])
