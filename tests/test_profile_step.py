"""benchmarks/profile_step.py on the CPU at tiny sizes: each variant timed, the profiler table, the summary line."""
import re

import pytest
import torch
from benchmark_scripts import load_script

profile_step = load_script("profile_step")


def test_variants_are_timed_and_profiled(capsys):
    profile_step.main(["--device", "cpu", "--profile", "quick", "--variants", "eager", "compiled", "--steps", "2",
                       "--kernels", "5", "--width", "8", "--real-per-class", "4", "--images-per-class", "10"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"ms/step eager=\d+\.\d\d compiled=\d+\.\d\d", lines[-1]), lines[-1]
    assert sum(line.startswith("== ") for line in lines) == 2
    assert any("aten::" in line for line in lines)  # the profiler's table
    assert profile_step.compiled_passes.compile_function is profile_step.COMPILE_FUNCTION  # restored


def test_a_missing_gpu_is_a_one_line_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(profile_step.UserError, match="no CUDA device"):
        profile_step.main(["--device", "cuda"])
