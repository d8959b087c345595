"""Smoke test of benchmarks/bench_redraw.py: a few timed moves, the summary line agrees with them (no time asserted)."""
import re
import statistics

import pytest
from benchmark_scripts import load_script

SUMMARY = re.compile(r"redraw median=(\d+\.\d{3}) max=(\d+\.\d{3}) cpu median=(\d+\.\d{3}) \| budget 1 s \| "
                     r"median/budget=(\d+\.\d{3})")
MOVE = re.compile(r"skew .{5} gap \d \w+ *: (\d+\.\d{3}) s \(cpu (\d+\.\d{3}) s\)")


@pytest.fixture(scope="module")
def bench():
    """benchmarks/bench_redraw.py loaded as a module (benchmarks/ is not a package)."""
    return load_script("bench_redraw")


def test_the_summary_line_sums_up_the_moves(bench, capsys):
    moves = 3
    assert bench.main(["--moves", str(moves)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == moves + 2 and lines[0].startswith("load average ")
    walls, cpus = [], []
    for line, (skew, gap, mode) in zip(lines[1:-1], bench.SETTINGS):
        match = MOVE.fullmatch(line)
        assert match and line.startswith(f"skew {skew:<5g} gap {gap} {mode:<8}: "), line
        walls.append(float(match.group(1)))
        cpus.append(float(match.group(2)))
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    median, worst, cpu, ratio = map(float, match.groups())
    # an odd number of moves: the median is one of them, so the printed (rounded) values agree exactly
    assert median == statistics.median(walls) and worst == max(walls) and cpu == statistics.median(cpus)
    assert 0 < median <= worst and cpu > 0
    assert ratio == pytest.approx(median / bench.BUDGET_SECONDS, abs=1e-3)


def test_an_unknown_dataset_is_one_line(bench):
    with pytest.raises(SystemExit, match="unknown dataset 'cdigit'"):
        bench.main(["--dataset", "cdigit", "--moves", "1"])
