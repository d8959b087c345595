"""Smoke test of the step benchmark (benchmarks/bench_step.py runs cobra_lab.bench.step): one tiny step per
configuration, and the format of its summary."""
import re

import pytest
import torch

from cobra_lab import paper
from cobra_lab.bench import step

TINY = ["--steps", "1", "--warmup", "0", "--groups", "10", "--real-per-class", "4", "--width", "8",
        "--images-per-class", "40", "--ipc", "2", "--device", "cpu", "--no-compile"]  # compiling: test_compiled.py
NUMBER = r"(\d+\.\d{2,3})"
SUMMARY = re.compile(rf"cobra/vanilla DM@G10={NUMBER} DC@G10={NUMBER} IDC@G10={NUMBER} CAFE@G10={NUMBER} \| "
                     rf"ours/reference vanilla DM={NUMBER} DC={NUMBER} IDC={NUMBER} CAFE={NUMBER} \| "
                     rf"conv-efficiency DM={NUMBER}")


@pytest.fixture(scope="module")
def bench():
    """The benchmark's module, which benchmarks/bench_step.py runs."""
    return step


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One CPU thread here and in the memory subprocess: a format check, kept quick on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def test_one_step_run_ends_with_the_summary_line(bench, capsys):
    assert bench.main([*TINY, "--no-memory"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "real images per step: 40 (4 per class)" in "\n".join(lines)
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    assert all(float(ratio) > 0 for ratio in match.groups())


def test_compile_follows_the_flag_and_defaults_to_the_quick_profile(bench):
    assert bench.profile_config("dc", bench.parse_args([]))["distill"]["compile"] is True
    args = bench.parse_args(TINY)
    assert bench.profile_config("dm", args)["distill"]["compile"] is False
    assert "--no-compile" in bench.child_argv(args, "dm", "cobra", 10, "ours")


def test_memory_of_one_configuration_in_a_fresh_process(bench):
    # width 16: at width 8 the largest activation is exactly glibc's mmap threshold (CHILD_ENV), so whether the
    # step's memory shows as growth depends on the heap left by whichever modules were imported
    args = bench.parse_args([*TINY, "--width", "16"])
    assert bench.child_peak_mb(args, "dm", "cobra", 10, "reference") > 0


def test_the_reference_step_pools_like_the_reference_code(bench):
    args = bench.parse_args(TINY)
    data = bench.make_data(2, args.images_per_class, args.seed)
    ours = bench.make_setup(data, data.train.x, bench.profile_config("dm", args), torch.device("cpu"), args.seed)
    reference = bench.make_setup(data, data.train.x, bench.profile_config("dm", args), torch.device("cpu"), args.seed)
    bench.build_step(reference, data, "vanilla", "reference")
    pools = [type(module).__name__ for module in reference.net.modules() if "Pool" in type(module).__name__]
    assert pools == ["AvgPool2d"] * 3
    x = data.train.x[:4]
    with torch.no_grad():
        torch.testing.assert_close(reference.net.embed(x), ours.net.embed(x))


def test_paper_profile_sizes_and_table13_beside_ours(bench, capsys):
    defaults = bench.parse_args(["--profile", "paper"])
    assert (defaults.width, defaults.real_per_class, defaults.groups) == (128, 256, [10])
    assert bench.profile_config("dm", defaults)["distill"]["iterations"] == 20000  # the paper profile's section
    assert bench.main([*TINY, "--profile", "paper", "--no-memory", "--methods", "dm", "dc"]) == 0
    out = capsys.readouterr().out
    assert "ConvNet width 8" in out  # explicit sizes win over the profile's
    assert not any(line.startswith(("idc ", "cafe ")) for line in out.splitlines())  # --methods dm dc: only those
    assert re.fullmatch(rf"cobra/vanilla DM@G10={NUMBER} DC@G10={NUMBER} \| ours/reference vanilla DM={NUMBER} "
                        rf"DC={NUMBER} \| conv-efficiency DM={NUMBER}", out.strip().splitlines()[-1])
    rows = {tuple(line.split()[:3]): line for line in out.splitlines() if line.startswith("  d")}
    for method in ("dm", "dc"):
        for mode in ("vanilla", "cobra"):
            reported = paper.find(13, method=method, mode=mode, groups=10)["ms"]
            row = rows[method, mode, "G=10"]
            assert f"paper {reported:7.1f}" in row and float(row.split()[-1]) > 0
    assert ("dm", "fairdd", "G=10") not in rows  # Table 13 has no FairDD row
