"""Each finished run keeps its evaluation nets' test predictions, compact, and they reproduce its metrics."""
import pytest
import torch

from cobra_lab.config import resolve
from cobra_lab.fairness import fairness_metrics
from cobra_lab.integrity import DamagedFile
from cobra_lab.runner import run_one
from cobra_lab.store import RunDir


@pytest.fixture(autouse=True)
def data_root(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COBRA_LAB_DATA", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.mark.parametrize("ensemble", [True, False])
def test_stored_predictions_reproduce_every_nets_metrics(tmp_path, ensemble):
    config = resolve("cdigits_bg", "random", None, 2, profile="smoke",
                     overrides={"eval.runs": 2, "eval.ensemble": ensemble})
    metrics = run_one(config, root=tmp_path, progress=False)
    record = RunDir(config, tmp_path).stored_predictions()
    assert record["predicted"].dtype == record["y"].dtype == record["a"].dtype == torch.int8
    assert record["predicted"].shape == (2, record["y"].numel()) and record["y"].numel() == 1000
    for predicted, stored in zip(record["predicted"], metrics["per_run"]):
        again = fairness_metrics(predicted.long(), record["y"].long(), record["a"].long(), 10, 10)
        assert {key: again[key] for key in stored} == pytest.approx(stored)


def test_a_run_without_predictions_says_so_and_a_damaged_file_is_caught(tmp_path):
    config = resolve("cdigits_bg", "random", None, 2, profile="smoke")
    run_one(config, root=tmp_path, progress=False)
    run = RunDir(config, tmp_path)
    record = run.stored_predictions()
    run.save_predictions({**record, "predicted": record["predicted"][:, :10]})
    with pytest.raises(DamagedFile, match="predicted has shape"):
        run.stored_predictions()
    run.predictions_file.unlink()
    assert run.stored_predictions() is None
    assert run_one(config, root=tmp_path, progress=False)["cached"]  # the metrics stand without them
