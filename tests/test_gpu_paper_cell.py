"""benchmarks/gpu_paper_cell.sh at smoke scale on the CPU: Fashion-MNIST unpacked from gzipped files, three
runs side by side, and the report of our EOD (Acc) beside Table 1's, printed and written as a results file."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cobra_lab.data.sources import DEBIAN_FASHION_MNIST, IDX_FILES
from cobra_lab.paper import cell

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_paper_cell.sh"


def test_smoke_cell_on_the_cpu(tmp_path, cfmnist_bg, session_data_root):
    data = tmp_path / "data"
    shutil.copytree(session_data_root / "cache", data / "cache")  # the built set, so no rebuild here
    env = {**os.environ, "PROFILE": "smoke", "DEVICE": "cpu", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
           "COBRA_LAB_DATA": str(data), "COBRA_LAB_OUTPUTS": str(tmp_path / "runs"),
           "RESULTS": str(tmp_path / "results"), "FASHION_MNIST_GZ": str(DEBIAN_FASHION_MNIST)}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all((data / "FashionMNIST" / "raw" / name).stat().st_size > 0 for name in IDX_FILES)
    rows = {line.split()[2]: line for line in done.stdout.splitlines() if line.startswith("cfmnist_bg")}
    assert sorted(rows) == ["cobra", "fairdd", "vanilla"]
    for mode, row in rows.items():
        eod, acc = cell(1, dataset="cfmnist_bg", ipc=10, method="dm", mode=mode)
        assert f"{eod:.2f} ({acc:.1f})" in row and " smoke " in row and " clean " in row
    assert "s wall in all" in done.stdout
    written = json.loads((tmp_path / "results" / "report.json").read_text())
    assert written["bench"] == "paper_cell"
    assert [row["mode"] for row in written["rows"]] == ["vanilla", "fairdd", "cobra"]
    for row in written["rows"]:
        assert row["render"] == "clean" and row["d_acc"] == row["acc"] - row["paper_acc"]
        assert row["close"] == (abs(row["d_eod"]) <= 5 and abs(row["d_acc"]) <= 2)
