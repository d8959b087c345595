"""Smoke test of benchmarks/bench_eval.py: one tiny epoch per path at both sizes, and the summary line."""
import re

from benchmark_scripts import load_script

TINY = ["--quick-epochs", "1", "--paper-epochs", "1", "--rounds", "1", "--ipc", "1", "--test-images", "10",
        "--device", "cpu", "--no-compile", "--threads", "1"]  # the compiled ensemble: test_ensemble.py


def test_tiny_run_ends_with_the_summary_line(capsys):
    assert load_script("bench_eval").main(TINY) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line.split() for line in lines if line.startswith(("quick ", "paper "))]
    assert [(row[0], row[1], row[2]) for row in rows if row[3] == "sequential"] == [("quick", "3", "64"),
                                                                                    ("paper", "10", "128")]
    assert re.fullmatch(r"ensemble/sequential quick=\d+\.\d{3} paper=\d+\.\d{3}", lines[-1]), lines[-1]
