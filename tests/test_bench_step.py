"""Smoke test of the step benchmark (benchmarks/bench_step.py runs cobra_lab.bench.step): one tiny step per
configuration, the report's summary agreeing with the measurements it writes, the reference-style step."""
import json
import re

import pytest
import torch
from benchmark_scripts import load_script

from cobra_lab import paper
from cobra_lab.bench.fake_data import make_data
from cobra_lab.bench.step import build_step, one_step_memory, step_options
from cobra_lab.bench.step_setup import make_setup
from cobra_lab.errors import UserError

bench_step = load_script("bench_step")
TINY = ["--steps", "1", "--warmup", "0", "--groups", "10", "--real-per-class", "4", "--width", "8",
        "--images-per-class", "40", "--ipc", "2", "--device", "cpu", "--no-compile"]  # compiling: test_compiled.py
TINY_OPTIONS = {"steps": 1, "warmup": 0, "groups": [10], "real_per_class": 4, "width": 8, "images_per_class": 40,
                "ipc": 2, "device": "cpu", "compile": False}
NUMBER = r"(\d+\.\d{2,3})"
SUMMARY = re.compile(rf"cobra/vanilla DM@G10={NUMBER} DC@G10={NUMBER} IDC@G10={NUMBER} CAFE@G10={NUMBER} \| "
                     rf"ours/reference vanilla DM={NUMBER} DC={NUMBER} IDC={NUMBER} CAFE={NUMBER} \| "
                     rf"conv-efficiency DM={NUMBER}")


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One CPU thread here and in the memory subprocess: a format check, kept quick on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    torch.set_num_threads(threads)


def test_the_summary_line_is_the_recorded_measurements_ratios(tmp_path, capsys):
    assert bench_step.main([*TINY, "--no-memory", "--json", str(tmp_path / "step.json")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "random images, 40 per class" in lines[1] and "real images per step: 4 per class" in lines[1]
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    seconds = {(r["method"], r["mode"], r["implementation"]): r["seconds"]
               for r in json.loads((tmp_path / "step.json").read_text())["records"]}
    cobra = [seconds[m, "cobra", "ours"] / seconds[m, "vanilla", "ours"] for m in ("dm", "dc", "idc", "cafe")]
    ours = [seconds[m, "vanilla", "ours"] / seconds[m, "vanilla", "reference"] for m in ("dm", "dc", "idc", "cafe")]
    printed = [float(value) for value in match.groups()]
    assert printed[:8] == pytest.approx(cobra + ours, abs=5e-4)


def test_compile_follows_the_flag_and_sizes_default_to_the_profile():
    assert step_options().config("dc").distill.compile is True
    tiny = step_options(**TINY_OPTIONS)
    assert tiny.config("dm").distill.compile is False and tiny.config("idc").net.width == 8  # --width wins
    quick = step_options()
    assert (quick.config("dm").net.width, quick.config("idc").net.width) == (64, 32)  # IDC's own profile net
    paper_sizes = step_options("paper")
    assert (paper_sizes.config("idc").net.width, paper_sizes.real_per_class, paper_sizes.groups) == (128, 256, (10,))
    assert paper_sizes.config("dm").distill.iterations == 20000  # the paper profile's section
    with pytest.raises(UserError, match="groups must be >= 2"):
        step_options(groups=[1])


def test_memory_of_one_configuration_in_a_fresh_process():
    # width 16: at width 8 the step's activations are so small that whether they show as growth depends on the
    # heap left by whichever modules were imported
    options = step_options(**{**TINY_OPTIONS, "width": 16})
    from cobra_lab.bench.peak_memory import in_fresh_process
    peak = in_fresh_process(one_step_memory, options, "dm", "cobra", 10, "reference")
    assert 0 < peak.growth_mb < peak.total_mb  # the process held memory before the step


def test_the_reference_step_pools_like_the_reference_code():
    options = step_options(**TINY_OPTIONS)
    data = make_data(2, options.images_per_class, options.seed)
    cpu = torch.device("cpu")
    ours = make_setup(data, data.train.x, options.config("dm"), cpu)
    reference = make_setup(data, data.train.x, options.config("dm"), cpu)
    build_step(reference, data, "vanilla", "reference")
    pools = [type(module).__name__ for module in reference.net.modules() if "Pool" in type(module).__name__]
    assert pools == ["AvgPool2d"] * 3
    x = data.train.x[:4]
    with torch.no_grad():
        torch.testing.assert_close(reference.net.embed(x), ours.net.embed(x))


def test_paper_profile_prints_table13_beside_ours(capsys):
    assert bench_step.main([*TINY, "--profile", "paper", "--no-memory", "--methods", "dm", "dc"]) == 0
    out = capsys.readouterr().out
    assert "ConvNet width DM 8/DC 8," in out  # explicit sizes win over the profile's
    assert not any(line.startswith(("idc ", "cafe ")) for line in out.splitlines())  # --methods dm dc: only those
    assert re.fullmatch(rf"cobra/vanilla DM@G10={NUMBER} DC@G10={NUMBER} \| ours/reference vanilla DM={NUMBER} "
                        rf"DC={NUMBER} \| conv-efficiency DM={NUMBER}", out.strip().splitlines()[-1])
    rows = {tuple(line.split()[:3]): line for line in out.splitlines() if line.startswith("  d")}
    for method in ("dm", "dc"):
        for mode in ("vanilla", "cobra"):
            reported = paper.find(13, method=method, mode=mode, groups=10)["ms"]
            row = rows[method, mode, "G=10"]
            ours = float(row.split("| ours")[1].split()[0])
            ratio = float(row.split()[-1])
            assert f"paper {reported:7.1f}" in row and ratio == pytest.approx(ours / reported, rel=5e-3, abs=1e-3)
    assert ("dm", "fairdd", "G=10") not in rows  # Table 13 has no FairDD row


def test_a_bad_size_is_one_line(capsys):
    with pytest.raises(UserError, match="images per class must be at least"):
        bench_step.main([*TINY, "--images-per-class", "1"])
