"""A benchmark's results file says when, where and on which CPU it was measured."""
import json

import torch

from cobra_lab.bench.results import write_results


def test_a_results_file_names_the_cpu_and_its_vector_instructions(tmp_path):
    record = json.loads(write_results(tmp_path / "results.json", "bench_x", {"ratio": 0.5}).read_text())
    assert record["bench"] == "bench_x" and record["ratio"] == 0.5 and record["measured_at"]
    assert record["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert record["machine"]["cpu"], "no CPU model name"
