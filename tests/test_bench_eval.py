"""Smoke test of benchmarks/bench_eval.py: one tiny epoch per path at both sizes, and the summary line."""
import importlib.util
import re
import sys
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_eval.py"
TINY = ["--quick-epochs", "1", "--paper-epochs", "1", "--rounds", "1", "--ipc", "1", "--test-images", "10",
        "--device", "cpu", "--no-compile"]  # the compiled ensemble: test_ensemble.py


def test_tiny_run_ends_with_the_summary_line(capsys):
    spec = importlib.util.spec_from_file_location("bench_eval", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert bench.main(TINY) == 0
    finally:
        torch.set_num_threads(threads)
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line.split() for line in lines if line.startswith(("quick ", "paper "))]
    assert [(row[0], row[1], row[2]) for row in rows if row[3] == "sequential"] == [("quick", "3", "64"),
                                                                                    ("paper", "10", "128")]
    assert re.fullmatch(r"ensemble/sequential quick=\d+\.\d{3} paper=\d+\.\d{3}", lines[-1]), lines[-1]
