"""Imputation accuracy of partial group labels (real Fashion-MNIST)."""
import pytest

from cobra_lab.studies.partial_labels import imputation_accuracy


def test_imputation_accuracy_on_cfmnist(cfmnist_bg_partial, session_data_root, monkeypatch) -> None:
    monkeypatch.setenv("COBRA_LAB_DATA", str(session_data_root))
    table = imputation_accuracy("cfmnist_bg", [0.25], skew=0.9)
    row = table.iloc[0]
    expected = 100 * float((cfmnist_bg_partial.train.a == cfmnist_bg_partial.train.a_observed).float().mean())
    assert row["observed_accuracy"] == pytest.approx(expected)
    assert row["imputed_accuracy"] <= row["observed_accuracy"] <= 100
    assert row["imputed_accuracy"] > 90  # colours are easy to cluster
