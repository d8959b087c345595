"""The paper's Tables 1 and 2 (their CAFE and IDC columns), 3, 4, 5, 10 and 18 (paper_values.yaml): cells checked
against the paper text, lookups that answer only in the paper's setting, and the notebooks' row keys."""
from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from cobra_lab import paper
from cobra_lab.studies.cross_arch import paper_column as table3_lookup
from cobra_lab.studies.discrepancy import paper_column as table4_lookup
from cobra_lab.studies.interventions import paper_column as table18_lookup
from cobra_lab.studies.residuals import paper_table5
from cobra_lab.studies.tables import paper_text, results_table

TABLE10 = paper.lookup(10, ["dataset", "ipc"])  # notebook 11's paper column


def table5(method: str, dataset: str) -> list[dict[str, tuple[float, float]]]:
    """Table 5's rows in printed order for a method and dataset: {printed column: (mean, worst)}."""
    cells: dict[int, dict] = {}
    for row in paper.rows(5, method=method, dataset=dataset):
        cells.setdefault(row["row"], {})[{"vanilla": "Vanilla", "fairdd": "FairDD", "cobra": "COBRA"}[row["mode"]]] = \
            (row["mean"], row["worst"])
    return list(cells.values())


def agg_frame(rows: list[tuple], knob: str) -> pd.DataFrame:
    """An aggregated frame from (knob value, method, mode, ipc, eod_max, acc) tuples on cifar10s."""
    frame = pd.DataFrame(rows, columns=[knob, "method", "mode", "ipc", "eod_max", "acc"])
    frame.insert(0, "dataset", "cifar10s")
    frame["ipc"] = frame["ipc"].astype("Int64")
    return frame


# Table 1's layout as printed: seven datasets, each at IPC 10, 50 and 100, every backbone in every mode.
TABLE1_DATASETS = ["cifar10s", "cfmnist_fg", "cfmnist_bg", "cmnist_fg", "cmnist_bg", "utkface", "bffhq"]
TABLE1_IPCS = [10, 50, 100]
MODES = ["vanilla", "fairdd", "cobra"]


def test_table1_cafe_and_idc_cells_match_the_paper_text() -> None:
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="idc", mode="vanilla") == (100.0, 33.5)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="idc", mode="fairdd") == (47.2, 67.8)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="idc", mode="cobra") == (30.4, 67.5)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="cafe", mode="vanilla") == (100.0, 23.1)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="cafe", mode="fairdd") == (90.17, 59.4)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="cafe", mode="cobra") == (46.7, 63.5)
    assert paper.cell(1, dataset="cifar10s", ipc=50, method="cafe", mode="vanilla") == (61.93, 43.5)
    assert paper.cell(1, dataset="bffhq", ipc=100, method="idc", mode="cobra") == (5.28, 50.9)
    assert paper.cell(1, dataset="utkface", ipc=10, method="cafe", mode="cobra") == (40.7, 66.1)


def test_table1_keeps_its_own_numbers_where_table8_differs() -> None:
    assert paper.cell(1, dataset="cmnist_fg", ipc=10, method="idc", mode="cobra") == (17.45, 92.1)  # Table 8: 18.78
    assert paper.cell(1, dataset="cmnist_bg", ipc=100, method="idc", mode="cobra") == (41.79, 80.5)  # Table 8: 81.79


def test_table1_has_every_backbone_at_every_printed_setting() -> None:
    assert paper.methods(1) == ["dc", "dm", "cafe", "idc"]
    for method in paper.methods(1):
        printed = {(row["dataset"], row["ipc"], row["mode"]) for row in paper.rows(1, method=method)}
        assert printed == {(d, i, m) for d in TABLE1_DATASETS for i in TABLE1_IPCS for m in MODES}, method


def test_table2_idc_cells_match_the_paper_text() -> None:
    skew = paper.lookup(2, ["skew"], sweep="skew", dataset="cifar10s", ipc=50)
    gap = paper.lookup(2, ["gap"], sweep="gap", dataset="cifar10s", ipc=50)
    assert skew((0.6,), "idc", "vanilla")[:2] == (34.5, 43.0)
    assert skew((0.85,), "idc", "cobra")[:2] == (7.65, 46.0)
    assert gap((0,), "idc", "fairdd")[:2] == (0.0, 45.2)
    assert gap((2,), "idc", "cobra")[:2] == (9.9, 42.0)
    assert gap((4,), "idc", "vanilla")[:2] == (57.43, 31.1)
    assert skew((0.6,), "cafe", "vanilla") is None  # Table 2 has no CAFE column
    assert paper.methods(2) == ["dc", "dm", "idc"]
    for sweep, values in (("skew", [0.6, 0.65, 0.7, 0.75, 0.8, 0.85]), ("gap", [0, 1, 2, 3, 4])):
        printed = {(row[sweep], row["mode"]) for row in paper.rows(2, sweep=sweep, method="idc")}
        assert printed == {(v, m) for v in values for m in MODES}, sweep


def test_only_tables_1_and_2_report_cafe_or_idc() -> None:
    assert paper.methods(3) == ["dm"] and paper.methods(10) == ["dc", "dm"]
    assert paper.rows(10, method="idc") == [] and paper.rows(3, method="cafe") == []


def test_table3_cells_match_the_paper_text() -> None:
    assert paper.cell(3, dataset="cifar10s", arch="convnet", mode="vanilla") == (73.88, 45.5)
    assert paper.cell(3, dataset="cmnist_bg", arch="alexnet", mode="vanilla") == (60.0, 13.5)
    assert paper.cell(3, dataset="utkface", arch="resnet18", mode="cobra") == (42.5, 67.7)
    assert paper.cell(3, dataset="bffhq", arch="vgg11", mode="cobra") == (8.7, 69.8)
    assert paper.cell(3, dataset="utkface", arch="mean", mode="vanilla") == (53.69, 68.1)
    assert paper.cell(3, dataset="cmnist_bg", arch="std", mode="cobra") == (0.96, 0.32)
    assert paper.cell(3, dataset="cifar10s", arch="convnet", mode="fairdd") is None  # no FairDD column
    assert paper.cell(3, dataset="cfmnist_bg", arch="convnet", mode="cobra") is None  # not in Table 3


@pytest.mark.parametrize("dataset", ["cifar10s", "cfmnist_fg", "cmnist_bg", "utkface", "bffhq"])
@pytest.mark.parametrize("mode", ["vanilla", "cobra"])
def test_table3_mean_and_population_std_over_the_four_nets(dataset: str, mode: str) -> None:
    cells = [paper.cell(3, dataset=dataset, arch=arch, mode=mode)
             for arch in ("convnet", "alexnet", "vgg11", "resnet18")]
    for k, tolerance in ((0, 0.006), (1, 0.06)):  # EOD printed to 2 decimals, accuracy mostly to 1
        values = [cell[k] for cell in cells]
        mean, std = (paper.cell(3, dataset=dataset, arch=row, mode=mode)[k] for row in ("mean", "std"))
        assert mean == pytest.approx(statistics.fmean(values), abs=tolerance)
        assert std == pytest.approx(statistics.pstdev(values), abs=tolerance)


def test_table3_lookup_only_at_dm_ipc_50() -> None:
    lookup = table3_lookup("cifar10s", 50)
    assert lookup(("alexnet",), "dm", "cobra")[:2] == (15.22, 46.2)
    assert lookup((None,), "dm", "vanilla")[:2] == (73.88, 45.5)  # no eval.arch: the ConvNet
    assert lookup(("alexnet",), "dc", "cobra") is None
    assert lookup(("alexnet",), "dm", "fairdd") is None
    assert table3_lookup("cifar10s", 10)(("alexnet",), "dm", "cobra") is None
    assert table3_lookup("cfmnist_bg", 50)(("alexnet",), "dm", "cobra") is None


def test_table4_cells_match_the_paper_text() -> None:
    assert paper.find(4, dataset="cifar10s", discrepancy="huber")["eod"] == 15.36
    assert paper.find(4, dataset="cfmnist_fg", discrepancy="linf")["eod"] == 27.17
    assert paper.find(4, dataset="cmnist_fg", discrepancy="l1")["eod"] == 44.57
    assert paper.find(4, dataset="utkface", discrepancy="cosine")["eod"] == 37.83
    assert paper.find(4, dataset="bffhq", discrepancy="sq")["eod"] == 15.73  # COBRA: the default squared norm
    assert paper.find(4, dataset="cmnist_bg", discrepancy="l1") is None  # printed "-"
    assert paper.find(4, dataset="cifar10s", discrepancy="kl") is None


@pytest.mark.parametrize("dataset", ["cifar10s", "cfmnist_fg", "cfmnist_bg", "cmnist_fg", "cmnist_bg", "utkface",
                                     "bffhq"])
def test_table4_cobra_column_is_table1_dm_ipc10(dataset: str) -> None:
    table1 = paper.cell(1, dataset=dataset, ipc=10, method="dm", mode="cobra")
    assert paper.find(4, dataset=dataset, discrepancy="sq")["eod"] == table1[0]


def test_table4_lookup_only_for_dm_cobra_at_ipc_10() -> None:
    lookup = table4_lookup("cifar10s", 10)
    eod, acc, *_ = lookup(("l2",), "dm", "cobra")
    assert eod == 20.99 and math.isnan(acc)  # Table 4 prints no accuracy
    assert lookup(("sq",), "dm", "vanilla") is None
    assert lookup(("l2",), "dc", "cobra") is None
    assert table4_lookup("cifar10s", 50)(("l2",), "dm", "cobra") is None
    assert table4_lookup("cdigits_bg", 10)(("l2",), "dm", "cobra") is None


def test_notebook09_row_keys_get_table4() -> None:
    agg = agg_frame([("sq", "dm", "vanilla", 10, 90.0, 30.0), ("sq", "dm", "cobra", 10, 20.0, 45.0),
                     ("l2", "dm", "cobra", 10, 25.0, 44.0)], "distill.discrepancy")
    table, _ = results_table(agg, rows=["distill.discrepancy"], paper=table4_lookup("cifar10s", 10))
    assert table.loc[("l2",), ("dm", "cobra", "paper")] == "20.99"
    assert table.loc[("sq",), ("dm", "cobra", "paper")] == "20.18"
    assert table.loc[("sq",), ("dm", "vanilla", "paper")] == ""


def test_notebook10_row_keys_get_table3() -> None:
    agg = agg_frame([("convnet", "dm", "cobra", 50, 15.0, 57.0), ("vgg11", "dm", "cobra", 50, 11.0, 52.0)],
                    "eval.arch")
    table, _ = results_table(agg, rows=["eval.arch"], paper=table3_lookup("cifar10s", 50))
    assert table.loc[("vgg11",), ("dm", "cobra", "paper")] == "10.24 (52.4)"
    assert table.loc[("convnet",), ("dm", "cobra", "paper")] == "15.82 (57.6)"


def test_paper_text_without_accuracy() -> None:
    assert paper_text(20.99, float("nan")) == "20.99"
    assert paper_text(15.22, 46.2) == "15.22 (46.2)"


def test_table5_cells_match_the_paper_text() -> None:
    dc_bffhq = table5("dc", "bffhq")
    assert len(dc_bffhq) == 2 and list(dc_bffhq[0]) == ["Vanilla", "FairDD", "COBRA"]
    assert dc_bffhq[0]["COBRA"] == (15.454, 21.73)
    assert dc_bffhq[1]["FairDD"] == (105.988, 148.13)
    assert table5("dm", "cifar10s")[1]["Vanilla"] == (580.187, 1108.934)
    assert table5("dm", "bffhq")[0]["COBRA"] == (45.25, 54.682)
    assert table5("dm", "cfmnist_bg") == []


def test_table5_frame_for_display() -> None:
    frame = paper_table5(["dm"])
    assert list(frame.columns) == ["objective", "dataset", "row", "Vanilla", "FairDD", "COBRA"]
    assert len(frame) == 4 and set(frame["objective"]) == {"dm"}
    assert frame.iloc[3]["Vanilla"] == "580.187 (1108.934)"
    assert len(paper_table5()) == 8


def test_table10_cells_match_the_paper_text() -> None:
    assert paper.cell(10, dataset="cifar10s", ipc=1, method="dc", mode="vanilla") == (18.0, 25.8)  # text: 18.0 -> 6.2
    assert paper.cell(10, dataset="cifar10s", ipc=1, method="dc", mode="cobra") == (6.2, 25.8)
    assert paper.cell(10, dataset="cifar10s", ipc=5, method="dm", mode="fairdd") == (28.4, 38.1)
    assert paper.cell(10, dataset="bffhq", ipc=3, method="dm", mode="fairdd") == (11.1, 61.9)  # the text: 11.1 -> 7.8
    assert paper.cell(10, dataset="bffhq", ipc=3, method="dm", mode="cobra") == (7.8, 58.3)
    assert paper.cell(10, dataset="bffhq", ipc=5, method="dc", mode="cobra") == (21.8, 61.5)


def test_table10_lookup_only_at_its_datasets_and_ipcs() -> None:
    assert TABLE10(("cifar10s", 1), "dm", "cobra")[:2] == (4.9, 23.6)
    assert TABLE10(("cifar10s", 10), "dm", "cobra") is None
    assert TABLE10(("cfmnist_bg", 1), "dm", "cobra") is None
    assert TABLE10(("cifar10s", None), "full", "full") is None


def test_table18_cells_match_the_paper_text() -> None:
    assert paper.cell(18, dataset="cifar10s", method="dm", intervention="RF") == (57.23, 38.9)
    assert paper.cell(18, dataset="bffhq", method="dm", intervention="DF") == (14.10, 66.0)
    assert paper.cell(18, dataset="bffhq", method="dc", intervention="MF") == (30.20, 57.45)
    assert paper.cell(18, dataset="bffhq", method="dc", intervention="DF") == (39.00, 62.98)
    assert paper.cell(18, dataset="cmnist_bg", method="dc", intervention="DF") is None  # "-": unstable optimization
    assert paper.cell(18, dataset="cmnist_bg", method="dm", intervention="RF") == (100.0, 20.9)


@pytest.mark.parametrize("dataset", ["cifar10s", "cmnist_bg", "bffhq"])
@pytest.mark.parametrize("method", ["dc", "dm"])
def test_table18_vanilla_and_cobra_are_table1_ipc10(dataset: str, method: str) -> None:
    for intervention, mode in (("vanilla", "vanilla"), ("COBRA", "cobra")):
        assert paper.cell(18, dataset=dataset, method=method, intervention=intervention) == \
            paper.cell(1, dataset=dataset, ipc=10, method=method, mode=mode)


def test_table18_lookup_only_at_ipc_10() -> None:
    assert table18_lookup("cifar10s", 10)(("COBRA",), "dm", "cobra")[:2] == (20.18, 44.5)
    assert table18_lookup("cifar10s", 10)(("MF",), "dc", "vanilla")[:2] == (40.75, 31.7)
    assert table18_lookup("cifar10s", 50)(("COBRA",), "dm", "cobra") is None
    assert table18_lookup("cfmnist_bg", 10)(("COBRA",), "dm", "cobra") is None


def test_sources_name_their_tables() -> None:
    for table in (3, 4, 5, 10, 18):
        assert paper.source(table).startswith(f"COBRA paper, Table {table} ")
