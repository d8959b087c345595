"""The malloc tuning every run applies: memory a step frees stays with the process for the next step."""
import subprocess
import sys

import pytest

from cobra_lab import runner

PROBE = """
import sys, torch
from cobra_lab.accel.memory import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tune" else False
def resident_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20
before = resident_mib()
blocks = [torch.ones(1 << 20) for _ in range(24)]  # a step's activations: 24 blocks of 4 MiB
del blocks
print(tuned, keep_freed_memory() == tuned, round(resident_mib() - before))
"""


def kept_after_a_step(how: str, keep: str = "1") -> tuple[str, str, int]:
    """(tuned, asking again answers the same, MiB still resident after 96 MiB of blocks were allocated and freed),
    in a fresh process (the setting is process-wide)."""
    done = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "COBRA_LAB_KEEP_MEMORY": keep})
    tuned, same, kept = done.stdout.split()
    return tuned, same, int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, /proc")
def test_tuned_malloc_keeps_a_steps_freed_memory():
    untuned, tuned = kept_after_a_step("leave"), kept_after_a_step("tune")
    assert tuned[:2] == ("True", "True")
    assert untuned[2] < 16  # by default each 4 MiB block is handed back to the system when freed
    assert tuned[2] > 80  # tuned, the freed 96 MiB stay in malloc's heap for the next step


def test_the_tuning_can_be_left_off():
    tuned, same, _ = kept_after_a_step("tune", keep="0")
    assert (tuned, same) == ("False", "True")


def test_a_run_tunes_malloc_before_anything_else(monkeypatch, tmp_path):
    calls = []

    def stop(*args):
        raise RuntimeError("stopped after the tuning")

    monkeypatch.setattr(runner, "keep_freed_memory", lambda: calls.append("tuned"))
    monkeypatch.setattr(runner, "RunDir", stop)
    with pytest.raises(RuntimeError, match="stopped after the tuning"):
        runner.run_one({}, tmp_path)
    assert calls == ["tuned"]
