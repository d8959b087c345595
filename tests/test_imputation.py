"""Imputation accuracy of partial group labels (real Fashion-MNIST), of both imputations."""
import pytest

from cobra_lab.studies.partial_labels import imputation_accuracy


def test_imputation_accuracy_on_cfmnist(cfmnist_bg_partial, session_data_root, monkeypatch) -> None:
    monkeypatch.setenv("COBRA_LAB_DATA", str(session_data_root))
    pixels = imputation_accuracy(["cfmnist_bg"], [0.25], skew=0.9).iloc[0]  # the paper's, as the fixture
    expected = 100 * float((cfmnist_bg_partial.train.a == cfmnist_bg_partial.train.a_observed).float().mean())
    assert pixels["imputation"] == "pixels_kmeans" and pixels["observed_accuracy"] == pytest.approx(expected)
    pooled = imputation_accuracy(["cfmnist_bg"], [0.25], skew=0.9, imputation="pooled_kmeans").iloc[0]
    for row in (pixels, pooled):
        assert row["imputed_accuracy"] <= row["observed_accuracy"] <= 100
    assert pooled["imputed_accuracy"] > 90  # the background colour dominates pooled pixels
    assert pixels["imputed_accuracy"] < pooled["imputed_accuracy"] - 5  # flattened, the garments' shapes count too


def test_the_imputation_accuracy_stands_in_front_of_each_row() -> None:
    import pandas as pd

    from cobra_lab.studies.partial_labels import with_imputation_accuracy

    index = pd.MultiIndex.from_tuples([("cdigits_bg", 1.0), ("cdigits_bg", 0.5)], names=["dataset", "known_groups"])
    columns = pd.MultiIndex.from_tuples([("dm", "cobra", "ours")], names=["method", "mode", "source"])
    table = pd.DataFrame([["10.0 (80.0)"], ["20.0 (79.0)"]], index=index, columns=columns)
    table.attrs["notes"] = ["a note"]
    accuracy = pd.DataFrame({"dataset": ["cdigits_bg"], "imputation": ["pixels_kmeans"], "known_groups": [0.5],
                             "observed_accuracy": [91.25], "imputed_accuracy": [82.5]})
    merged, bold = with_imputation_accuracy(table, pd.DataFrame(True, index=index, columns=columns), accuracy)
    assert list(merged.loc[("cdigits_bg", 0.5)]) == ["91.2", "82.5", "20.0 (79.0)"]
    assert list(merged.loc[("cdigits_bg", 1.0)]) == ["", "", "10.0 (80.0)"]  # every label known: none imputed
    assert bold.shape == merged.shape and list(bold.loc[("cdigits_bg", 0.5)]) == [False, False, True]
    assert merged.attrs["notes"] == ["a note"]
