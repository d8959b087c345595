"""Smoke test of benchmarks/bench_eval.py: one tiny epoch per path at both sizes, and the summary line."""
import re

import torch
from benchmark_scripts import load_script

TINY = ["--quick-epochs", "1", "--paper-epochs", "1", "--rounds", "1", "--ipc", "1", "--test-images", "10",
        "--device", "cpu", "--no-compile"]  # the compiled ensemble: test_ensemble.py


def test_tiny_run_ends_with_the_summary_line(capsys):
    bench = load_script("bench_eval")
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
