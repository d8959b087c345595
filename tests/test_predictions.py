"""Each finished run keeps its evaluation nets' test predictions, compact, and they reproduce its metrics."""
import pytest
import torch

from cobra_lab.config import resolve
from cobra_lab.evaluate import confidence_codes, confidence_values
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


def test_stored_confidences_round_trip_within_their_bin(tmp_path):
    config = resolve("cdigits_bg", "random", None, 2, profile="smoke", overrides={"eval.runs": 2})
    run_one(config, root=tmp_path, progress=False)
    record = RunDir(config, tmp_path).stored_predictions()
    codes = record["confidence"]
    assert codes.dtype == torch.uint8 and codes.shape == record["predicted"].shape
    assert int(codes.min()) >= 255 // 10  # a top softmax probability of 10 classes is at least 1/10
    exact = torch.rand(10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64).clamp_min(1e-6)
    exact = torch.cat([exact, torch.arange(1, 16, dtype=torch.float64) / 15])  # the bins' edges too
    back = confidence_values(confidence_codes(exact))
    assert (back - exact).abs().max() <= 0.5 / 255 + 1e-12
    edges = torch.linspace(0, 1, 16, dtype=torch.float64)[1:-1]
    assert torch.equal(torch.bucketize(back, edges), torch.bucketize(exact, edges))  # same ECE bin


def test_a_run_stored_without_confidences_still_reads(tmp_path):
    config = resolve("cdigits_bg", "random", None, 2, profile="smoke")
    run_one(config, root=tmp_path, progress=False)
    run = RunDir(config, tmp_path)
    record = run.stored_predictions()
    run.save_predictions({key: value for key, value in record.items() if key != "confidence"})
    assert "confidence" not in run.stored_predictions()
    run.save_predictions({**record, "confidence": record["confidence"][:, :10]})
    with pytest.raises(DamagedFile, match="confidence has shape"):
        run.stored_predictions()
