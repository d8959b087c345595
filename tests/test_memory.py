"""The malloc tuning every run applies: a training step's freed activations are reused, not faulted in again."""
import subprocess
import sys

import pytest

from cobra_lab import runner

PROBE = """
import resource, sys, torch, torch.nn.functional as F
from torch import nn
from cobra_lab.accel.memory import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tune" else False
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.GroupNorm(64, 64), nn.ReLU(), nn.AvgPool2d(2),
                    nn.Conv2d(64, 64, 3, padding=1), nn.GroupNorm(64, 64), nn.ReLU(), nn.AvgPool2d(2),
                    nn.Flatten(), nn.Linear(64 * 64, 10))
x, y = torch.randn(100, 3, 32, 32), torch.arange(10).repeat_interleave(10)
def step():
    F.cross_entropy(net(x), y).backward()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step(); step()
before = faults()
for _ in range(3):
    step()
print(tuned, keep_freed_memory() == tuned, (faults() - before) // 3)
"""


def step_faults(how: str, keep: str = "1") -> tuple[str, str, int]:
    """(tuned, asking again answers the same, page faults per training step of a small ConvNet on 100 images
    after two warm-up steps), in a fresh process (the setting is process-wide)."""
    done = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "COBRA_LAB_KEEP_MEMORY": keep})
    tuned, same, faults = done.stdout.split()
    return tuned, same, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_malloc_reuses_a_steps_freed_memory():
    untuned, tuned = step_faults("leave"), step_faults("tune")
    assert tuned[:2] == ("True", "True")
    assert untuned[2] > 5000  # by default a step's activations are faulted in again, page by page
    assert tuned[2] < untuned[2] / 4


def test_the_tuning_can_be_left_off():
    tuned, same, _ = step_faults("tune", keep="0")
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
