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
    assert re.fullmatch(rf"ms/iteration single={NUMBER} parallel={NUMBER} shared={NUMBER}", lines[-1]), lines[-1]
    assert any("distill.py" in line and "distill_loop" in line for line in lines)  # the profile of the lone run
    recorded = json.loads(results.read_text())
    assert len(recorded["parallel_ms"]) == len(recorded["shared_ms"]) == 2 and recorded["shared_threads"] == 1
    assert min(recorded["parallel_ms"] + recorded["shared_ms"] + [recorded["single_ms"]]) > 0
