"""benchmarks/bench_loop.py at smoke scale on the CPU: the profile of one process, the side-by-side processes with
default and shared threads, the summary line and the results file."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_loop.py"
NUMBER = r"(\d+\.\d)"


def test_loop_times_alone_and_side_by_side(tmp_path, cfmnist_bg, session_data_root):
    env = {**os.environ, "COBRA_LAB_DATA": str(session_data_root), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(SCRIPT.parent.parent)}
    results = tmp_path / "loop.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--profile", "smoke", "--iterations", "2",
                           "--parallel", "2", "--threads", "1", "--json", str(results)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    summary = re.fullmatch(rf"ms/iteration single={NUMBER} parallel={NUMBER} shared={NUMBER}", lines[-1])
    assert summary, lines[-1]
    assert any("statistic_matching.py" in line and "match_statistics" in line for line in lines)  # lone run's profile
    recorded = json.loads(results.read_text())
    assert len(recorded["parallel_ms"]) == len(recorded["shared_ms"]) == 2 and recorded["shared_threads"] == 1
    # the summary is the recorded single run and the slowest of each side-by-side pair
    expected = (recorded["single_ms"], max(recorded["parallel_ms"]), max(recorded["shared_ms"]))
    assert [float(value) for value in summary.groups()] == [round(value, 1) for value in expected]
