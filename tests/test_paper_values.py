"""The paper's Tables 3, 4, 5, 10 and 18 (paper_values.yaml): cells checked against the paper text, lookups that
answer only in the paper's setting, and the notebooks' row keys."""
from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from cobra_lab import paper
from cobra_lab.tables import paper_text, results_table


def agg_frame(rows: list[tuple], knob: str) -> pd.DataFrame:
    """An aggregated frame from (knob value, method, mode, ipc, eod_max, acc) tuples on cifar10s."""
    frame = pd.DataFrame(rows, columns=[knob, "method", "mode", "ipc", "eod_max", "acc"])
    frame.insert(0, "dataset", "cifar10s")
    frame["ipc"] = frame["ipc"].astype("Int64")
    return frame


def test_table3_cells_match_the_paper_text() -> None:
    assert paper.table3("cifar10s", "convnet", "vanilla") == (73.88, 45.5)
    assert paper.table3("cmnist_bg", "alexnet", "vanilla") == (60.0, 13.5)
    assert paper.table3("utkface", "resnet18", "cobra") == (42.5, 67.7)
    assert paper.table3("bffhq", "vgg11", "cobra") == (8.7, 69.8)
    assert paper.table3("utkface", "mean", "vanilla") == (53.69, 68.1)
    assert paper.table3("cmnist_bg", "std", "cobra") == (0.96, 0.32)
    assert paper.table3("cifar10s", "convnet", "fairdd") is None  # Table 3 has no FairDD column
    assert paper.table3("cfmnist_bg", "convnet", "cobra") is None  # not in Table 3


@pytest.mark.parametrize("dataset", ["cifar10s", "cfmnist_fg", "cmnist_bg", "utkface", "bffhq"])
@pytest.mark.parametrize("mode", ["vanilla", "cobra"])
def test_table3_mean_and_population_std_over_the_four_nets(dataset: str, mode: str) -> None:
    cells = [paper.table3(dataset, arch, mode) for arch in ("convnet", "alexnet", "vgg11", "resnet18")]
    for k, tolerance in ((0, 0.006), (1, 0.06)):  # EOD printed to 2 decimals, accuracy mostly to 1
        values = [cell[k] for cell in cells]
        assert paper.table3(dataset, "mean", mode)[k] == pytest.approx(statistics.fmean(values), abs=tolerance)
        assert paper.table3(dataset, "std", mode)[k] == pytest.approx(statistics.pstdev(values), abs=tolerance)


def test_table3_lookup_only_at_dm_ipc_50() -> None:
    lookup = paper.table3_lookup("cifar10s", 50)
    assert lookup(("alexnet",), "dm", "cobra") == (15.22, 46.2)
    assert lookup((None,), "dm", "vanilla") == (73.88, 45.5)  # no eval.arch: the ConvNet
    assert lookup(("alexnet",), "dc", "cobra") is None
    assert lookup(("alexnet",), "dm", "fairdd") is None
    assert paper.table3_lookup("cifar10s", 10)(("alexnet",), "dm", "cobra") is None
    assert paper.table3_lookup("cfmnist_bg", 50)(("alexnet",), "dm", "cobra") is None


def test_table4_cells_match_the_paper_text() -> None:
    assert paper.table4("cifar10s", "huber") == 15.36
    assert paper.table4("cfmnist_fg", "linf") == 27.17
    assert paper.table4("cmnist_fg", "l1") == 44.57
    assert paper.table4("utkface", "cosine") == 37.83
    assert paper.table4("bffhq", "sq") == 15.73  # the COBRA column: the default squared norm
    assert paper.table4("cmnist_bg", "l1") is None  # printed "-"
    assert paper.table4("cifar10s", "kl") is None


@pytest.mark.parametrize("dataset", ["cifar10s", "cfmnist_fg", "cfmnist_bg", "cmnist_fg", "cmnist_bg", "utkface",
                                     "bffhq"])
def test_table4_cobra_column_is_table1_dm_ipc10(dataset: str) -> None:
    assert paper.table4(dataset, "sq") == paper.table1(dataset, 10, "dm", "cobra")[0]


def test_table4_lookup_only_for_dm_cobra_at_ipc_10() -> None:
    lookup = paper.table4_lookup("cifar10s", 10)
    eod, acc = lookup(("l2",), "dm", "cobra")
    assert eod == 20.99 and math.isnan(acc)  # Table 4 prints no accuracy
    assert lookup(("sq",), "dm", "vanilla") is None
    assert lookup(("l2",), "dc", "cobra") is None
    assert paper.table4_lookup("cifar10s", 50)(("l2",), "dm", "cobra") is None
    assert paper.table4_lookup("cdigits_bg", 10)(("l2",), "dm", "cobra") is None


def test_notebook09_row_keys_get_table4() -> None:
    agg = agg_frame([("sq", "dm", "vanilla", 10, 90.0, 30.0), ("sq", "dm", "cobra", 10, 20.0, 45.0),
                     ("l2", "dm", "cobra", 10, 25.0, 44.0)], "distill.discrepancy")
    table, _ = results_table(agg, rows=["distill.discrepancy"], paper=paper.table4_lookup("cifar10s", 10))
    assert table.loc[("l2",), ("dm", "cobra", "paper")] == "20.99"
    assert table.loc[("sq",), ("dm", "cobra", "paper")] == "20.18"
    assert table.loc[("sq",), ("dm", "vanilla", "paper")] == ""


def test_notebook10_row_keys_get_table3() -> None:
    agg = agg_frame([("convnet", "dm", "cobra", 50, 15.0, 57.0), ("vgg11", "dm", "cobra", 50, 11.0, 52.0)],
                    "eval.arch")
    table, _ = results_table(agg, rows=["eval.arch"], paper=paper.table3_lookup("cifar10s", 50))
    assert table.loc[("vgg11",), ("dm", "cobra", "paper")] == "10.24 (52.4)"
    assert table.loc[("convnet",), ("dm", "cobra", "paper")] == "15.82 (57.6)"


def test_paper_text_without_accuracy() -> None:
    assert paper_text(20.99, float("nan")) == "20.99"
    assert paper_text(15.22, 46.2) == "15.22 (46.2)"


def test_table5_cells_match_the_paper_text() -> None:
    dc_bffhq = paper.table5("dc", "bffhq")
    assert len(dc_bffhq) == 2 and list(dc_bffhq[0]) == ["Vanilla", "FairDD", "COBRA"]
    assert dc_bffhq[0]["COBRA"] == (15.454, 21.73)
    assert dc_bffhq[1]["FairDD"] == (105.988, 148.13)
    assert paper.table5("dm", "cifar10s")[1]["Vanilla"] == (580.187, 1108.934)
    assert paper.table5("dm", "bffhq")[0]["COBRA"] == (45.25, 54.682)
    assert paper.table5("dm", "cfmnist_bg") == []


def test_table5_frame_for_display() -> None:
    frame = paper.table5_frame(["dm"])
    assert list(frame.columns) == ["objective", "dataset", "row", "Vanilla", "FairDD", "COBRA"]
    assert len(frame) == 4 and set(frame["objective"]) == {"dm"}
    assert frame.iloc[3]["Vanilla"] == "580.187 (1108.934)"
    assert len(paper.table5_frame()) == 8


def test_table10_cells_match_the_paper_text() -> None:
    assert paper.table10("cifar10s", 1, "dc", "vanilla") == (18.0, 25.8)  # the text: 18.0 -> 6.2 for DC
    assert paper.table10("cifar10s", 1, "dc", "cobra") == (6.2, 25.8)
    assert paper.table10("cifar10s", 5, "dm", "fairdd") == (28.4, 38.1)
    assert paper.table10("bffhq", 3, "dm", "fairdd") == (11.1, 61.9)  # the text: 11.1 -> 7.8
    assert paper.table10("bffhq", 3, "dm", "cobra") == (7.8, 58.3)
    assert paper.table10("bffhq", 5, "dc", "cobra") == (21.8, 61.5)


def test_table10_lookup_only_at_its_datasets_and_ipcs() -> None:
    assert paper.table10_lookup(("cifar10s", 1), "dm", "cobra") == (4.9, 23.6)
    assert paper.table10_lookup(("cifar10s", 10), "dm", "cobra") is None
    assert paper.table10_lookup(("cfmnist_bg", 1), "dm", "cobra") is None
    assert paper.table10_lookup(("cifar10s", None), "full", "full") is None


def test_table18_cells_match_the_paper_text() -> None:
    assert paper.table18("cifar10s", "dm", "RF") == (57.23, 38.9)
    assert paper.table18("bffhq", "dm", "DF") == (14.10, 66.0)
    assert paper.table18("bffhq", "dc", "MF") == (30.20, 57.45)
    assert paper.table18("bffhq", "dc", "DF") == (39.00, 62.98)
    assert paper.table18("cmnist_bg", "dc", "DF") is None  # printed "-": unstable optimization
    assert paper.table18("cmnist_bg", "dm", "RF") == (100.0, 20.9)


@pytest.mark.parametrize("dataset", ["cifar10s", "cmnist_bg", "bffhq"])
@pytest.mark.parametrize("method", ["dc", "dm"])
def test_table18_vanilla_and_cobra_are_table1_ipc10(dataset: str, method: str) -> None:
    assert paper.table18(dataset, method, "vanilla") == paper.table1(dataset, 10, method, "vanilla")
    assert paper.table18(dataset, method, "COBRA") == paper.table1(dataset, 10, method, "cobra")


def test_table18_lookup_only_at_ipc_10() -> None:
    assert paper.table18_lookup("cifar10s", 10)(("COBRA",), "dm", "cobra") == (20.18, 44.5)
    assert paper.table18_lookup("cifar10s", 10)(("MF",), "dc", "vanilla") == (40.75, 31.7)
    assert paper.table18_lookup("cifar10s", 50)(("COBRA",), "dm", "cobra") is None
    assert paper.table18_lookup("cfmnist_bg", 10)(("COBRA",), "dm", "cobra") is None


def test_sources_name_their_tables() -> None:
    for table in ("table3", "table4", "table5", "table10", "table18"):
        assert paper.source(table).startswith(f"COBRA paper, Table {table[5:]} ")
