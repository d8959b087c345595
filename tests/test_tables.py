"""Paper-style tables, the paper's values, and the reading sentence."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from cobra_lab import paper
from cobra_lab.studies import cross_arch, low_ipc, main_table, skew_gap, tables
from cobra_lab.studies.cross_arch import mean_std_rows
from cobra_lab.studies.figures import results_bars
from cobra_lab.studies.tables import cell_text, paper_only_table, results_table, select, summary_sentence


def agg_rows(rows: list[tuple]) -> pd.DataFrame:
    """An aggregated frame from (dataset, method, mode, ipc, eod_max, acc) tuples."""
    frame = pd.DataFrame(rows, columns=["dataset", "method", "mode", "ipc", "eod_max", "acc"])
    frame["ipc"] = frame["ipc"].astype("Int64")
    for key in ("eod_max", "acc"):
        frame[f"{key}_std"] = 0.5
    frame["eod_mean"], frame["eod_mean_std"], frame["seeds"] = frame["eod_max"] / 2, 0.1, 1
    return frame


AGG = agg_rows([("cfmnist_bg", "dm", "vanilla", 10, 100.0, 28.0), ("cfmnist_bg", "dm", "fairdd", 10, 67.3, 70.7),
                ("cfmnist_bg", "dm", "cobra", 10, 66.3, 71.8), ("cfmnist_bg", "full", "full", None, 95.0, 69.5),
                ("cfmnist_bg", "dm", "vanilla", 50, 90.0, 40.0), ("cfmnist_bg", "dm", "cobra", 50, 95.0, 75.0)])


def test_results_table_layout_bold_full_and_paper() -> None:
    table, bold = results_table(AGG, rows=["dataset", "ipc"], paper=paper.lookup(1, ["dataset", "ipc"]))
    assert list(table.index) == [("cfmnist_bg", 10), ("cfmnist_bg", 50)]
    assert table.loc[("cfmnist_bg", 10), ("dm", "cobra", "ours")] == "66.30 (71.8)"
    assert table.loc[("cfmnist_bg", 10), ("dm", "cobra", "paper")] == "33.80 ± 1.72 (70.6 ± 0.18)"  # Tables 1, 7, 8
    assert table.loc[("cfmnist_bg", 50), ("full", "", "ours")] == "95.00 (69.5)"  # FULL fills every IPC row
    assert table.loc[("cfmnist_bg", 50), ("full", "", "paper")] == "90.60 (77.84)"  # FULL: no +- printed
    assert table.loc[("cfmnist_bg", 50), ("dm", "fairdd", "ours")] == ""  # not run at IPC 50
    assert bold.loc[("cfmnist_bg", 10), ("dm", "cobra", "ours")]
    assert bold.loc[("cfmnist_bg", 50), ("dm", "vanilla", "ours")]  # lowest EOD wins, whoever it is
    assert bold.values.sum() == 2


def test_difference_to_the_paper_at_every_cell_both_report() -> None:
    ours = pd.concat([AGG, agg_rows([("cfmnist_bg", "mtt", "cobra", 10, 50.0, 60.0),  # not in Table 1
                                     ("cdigits_bg", "dm", "cobra", 10, 20.0, 80.0)])], ignore_index=True)
    difference = main_table.difference(ours)
    cells = list(zip(difference["dataset"], difference["ipc"], difference["method"], difference["mode"]))
    assert cells == [("cfmnist_bg", 10, "dm", "vanilla"), ("cfmnist_bg", 50, "dm", "vanilla"),
                     ("cfmnist_bg", 10, "dm", "fairdd"), ("cfmnist_bg", 10, "dm", "cobra"),
                     ("cfmnist_bg", 50, "dm", "cobra"), ("cfmnist_bg", pd.NA, "full", "full")]
    cobra = difference.iloc[3]
    assert (cobra["eod_ours"], cobra["acc_ours"], cobra["eod_paper"], cobra["acc_paper"]) == (66.3, 71.8, 33.8, 70.6)
    assert cobra["eod_diff"] == pytest.approx(32.5) and cobra["acc_diff"] == pytest.approx(1.2)
    full = difference.iloc[5]  # FULL has no IPC, and Table 1 prints it once per dataset
    assert full["eod_diff"] == pytest.approx(95.0 - 90.6) and full["acc_diff"] == pytest.approx(69.5 - 77.84)
    eod_mean = ours.assign(eod_max=ours["eod_mean"])  # the paper's EOD is eod_max: only that column is read
    assert not main_table.difference(eod_mean)["eod_diff"].equals(difference["eod_diff"])


def test_difference_sentence_reads_the_numbers() -> None:
    difference = main_table.difference(AGG)
    sentence = tables.difference_sentence(difference)
    assert sentence.startswith(f"Over {len(difference)} settings the paper reports")
    assert f"{difference['eod_diff'].mean():+.1f} on average" in sentence
    assert "farthest from the paper in EOD: cfmnist_bg, 50, dm, cobra, 95.0 against 21.4" in sentence
    no_accuracy = lambda key, method, mode: (10.0, float("nan"))  # noqa: E731 (as Table 4 prints)
    table4 = tables.paper_difference(AGG[AGG["mode"] == "cobra"], ["dataset"], no_accuracy)
    assert "accuracy" not in tables.difference_sentence(table4)  # no accuracy printed: no accuracy difference read
    assert tables.difference_sentence(difference.iloc[:0]) == "The paper reports none of the settings run here."


def test_metric_choice_and_cell_text() -> None:
    table, _ = results_table(AGG, rows=["dataset", "ipc"], metric="eod_mean")
    assert table.loc[("cfmnist_bg", 10), ("dm", "cobra", "ours")] == cell_text(33.15, 71.8)
    assert "paper" not in table.columns.get_level_values("source")


def test_paper_lookups_match_the_paper_text() -> None:
    assert paper.cell(1, dataset="cmnist_bg", ipc=50, method="dm", mode="cobra") == (7.46, 96.8)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="idc", mode="cobra") == (30.4, 67.5)
    assert paper.cell(1, dataset="cfmnist_bg", ipc=10, method="mtt", mode="cobra") is None
    assert paper.cell(2, sweep="skew", skew=0.75, method="dm", mode="vanilla") == (54.59, 44.3)
    assert paper.cell(2, sweep="gap", gap=3, method="full", mode="full") == (54.85, 65.9)
    assert paper.lookup(2, ["skew"], sweep="skew", dataset="cfmnist_bg", ipc=50)((0.75,), "dm", "vanilla") is None
    table16 = paper.lookup(16, ["dataset", "known_groups"], ipc=10)  # notebook 05's paper column
    assert table16(("cfmnist_bg", 0.1), "dm", "cobra")[:2] == (73.5, 67.91)
    assert table16(("cfmnist_bg", 1.0), "dm", "vanilla")[:2] == (100.0, 22.05)
    assert table16(("cfmnist_bg", 0.1), "dm", "vanilla") is None
    table19 = paper.lookup(19, ["semantic_gap"], dataset="cifar10s", ipc=10)  # notebook 03's paper column
    assert table19((3,), "dm", "cobra")[:2] == (26.1, 42.8)
    assert table19((3,), "full", "full")[:2] == (52.2, 72.4)


def test_select_and_summary_sentence() -> None:
    assert len(select(AGG, ipc=50)) == 2
    assert "full" not in set(select(AGG, ipc=10)["mode"])  # FULL has no IPC
    sentence = summary_sentence(AGG.drop(index=[4, 5]))
    assert "DM vanilla 100.0 (28.0 %)" in sentence and "FULL 95.0" in sentence
    assert "cobra 1/1" in sentence
    assert math.isclose(select(AGG, eod_max=66.3)["acc"].iloc[0], 71.8)


def test_ties_are_reported_as_ties() -> None:
    tied = agg_rows([("cdigits_bg", "dm", "vanilla", 10, 100.0, 9.7), ("cdigits_bg", "dm", "fairdd", 10, 100.0, 10.3),
                     ("cdigits_bg", "dm", "cobra", 10, 100.001, 9.7),  # prints as 100.00: a tie too
                     ("cdigits_bg", "dm", "vanilla", 50, 90.0, 40.0), ("cdigits_bg", "dm", "cobra", 50, 95.0, 75.0)])
    _, bold = results_table(tied, rows=["dataset", "ipc"])
    assert bold.loc[("cdigits_bg", 10)].sum() == 3  # all three bold, none singled out
    assert bold.loc[("cdigits_bg", 50), ("dm", "vanilla", "ours")] and bold.loc[("cdigits_bg", 50)].sum() == 1
    sentence = summary_sentence(tied)
    assert "tie vanilla = fairdd = cobra 1/2" in sentence and "vanilla 1/2" in sentence
    assert "cobra 1/2" not in sentence.replace("= cobra 1/2", "")


@pytest.mark.parametrize("knob", ["skew", "gap"])
def test_table2_has_every_row(knob: str) -> None:
    rows = {row[knob] for row in paper.rows(2, sweep=knob)}
    assert len(rows) == (6 if knob == "skew" else 5)


def test_mean_std_rows_over_architectures() -> None:
    frame = agg_rows([("d", "dm", "cobra", 10, 10.0, 60.0), ("d", "dm", "cobra", 10, 30.0, 70.0),
                      ("d", "dm", "vanilla", 10, 90.0, 30.0)])
    table = mean_std_rows(frame)
    assert table.loc["Mean", ("dm", "cobra")] == cell_text(20.0, 65.0)
    assert table.loc["STD", ("dm", "cobra")] == cell_text(10.0, 5.0)  # population std, as Table 3
    assert table.loc["STD", ("dm", "vanilla")] == cell_text(0.0, 0.0)


BACKBONES = agg_rows([("cfmnist_bg", method, mode, 10, eod, acc) for method, mode, eod, acc in
                      (("idc", "vanilla", 100.0, 30.0), ("idc", "cobra", 40.0, 60.0),
                       ("dm", "vanilla", 100.0, 25.0), ("dm", "cobra", 30.0, 70.0),
                       ("cafe", "vanilla", 50.0, 30.0), ("cafe", "cobra", 55.0, 60.0))]
                     + [("cfmnist_bg", "full", "full", None, 95.0, 69.5)])


def test_idc_and_cafe_columns_in_the_papers_order_with_its_numbers() -> None:
    table, bold = main_table.table(BACKBONES)
    assert list(dict.fromkeys(table.columns.get_level_values("method"))) == ["dm", "cafe", "idc", "full"]
    assert table.loc[("cfmnist_bg", 10), ("idc", "cobra", "ours")] == "40.00 (60.0)"
    assert table.loc[("cfmnist_bg", 10), ("idc", "vanilla", "paper")] == "100.00 ± 0.00 (33.5 ± 1.01)"
    assert table.loc[("cfmnist_bg", 10), ("cafe", "cobra", "paper")] == "46.70 ± 9.92 (63.5 ± 0.48)"
    assert bold.loc[("cfmnist_bg", 10), ("cafe", "vanilla", "ours")]  # each backbone's own lowest EOD
    assert not bold.loc[("cfmnist_bg", 10), ("cafe", "cobra", "ours")]


def test_paper_others_shows_the_backbones_not_run() -> None:
    dm_only = BACKBONES[BACKBONES["method"].isin(["dm", "full"])]
    table, _ = main_table.table(dm_only)
    others = main_table.paper_others(table, ["dm"], ["vanilla", "fairdd", "cobra"])
    assert list(others.columns) == [(m, mode) for m in ("dc", "cafe", "idc") for mode in ("vanilla", "fairdd", "cobra")]
    assert others.loc[("cfmnist_bg", 10), ("idc", "fairdd")] == "47.20 ± 1.60 (67.8 ± 0.31)"
    assert others.loc[("cfmnist_bg", 10), ("dc", "cobra")] == "34.50 ± 3.40 (70.4 ± 0.40)"
    both, _ = main_table.table(BACKBONES)
    assert list(main_table.paper_others(both, ["dm", "cafe", "idc"], ["cobra"]).columns) == [("dc", "cobra")]


def test_paper_only_table_is_empty_where_the_paper_reports_nothing() -> None:
    keys = pd.MultiIndex.from_tuples([("cdigits_bg", 10)], names=["dataset", "ipc"])
    assert paper_only_table(keys, paper.lookup(1, ["dataset", "ipc"]), ["idc"], ["cobra"]).empty
    keys = pd.MultiIndex.from_tuples([("cifar10s", 10), ("cdigits_bg", 10)], names=["dataset", "ipc"])
    partial = paper_only_table(keys, paper.lookup(1, ["dataset", "ipc"]), ["cafe", "idc"], ["cobra"], ran=["idc"])
    assert list(partial.columns) == [("cafe", "cobra")]
    assert list(partial[("cafe", "cobra")]) == ["30.48 ± 1.90 (39.5 ± 0.46)", ""]


def test_skew_gap_tables_carry_table2_idc_only_in_its_setting() -> None:
    rows = agg_rows([("cifar10s", "idc", "cobra", 50, 9.0, 45.0), ("cifar10s", "dm", "cobra", 50, 8.0, 50.0)])
    rows.insert(1, "skew", [0.7, 0.7])
    fixed = skew_gap.fixed_knobs("skew", fixed_gap=0, fixed_skew=0.8)
    table, _ = skew_gap.table(rows, "skew", "cifar10s", 50, fixed=fixed)
    assert table.loc[(0.7,), ("idc", "cobra", "paper")] == "7.43 ± 1.88 (46.1 ± 0.50)"
    dm_table, _ = skew_gap.table(rows[rows["method"] == "dm"], "skew", "cifar10s", 50, fixed=fixed)
    others = skew_gap.paper_others(dm_table, "skew", "cifar10s", 50, ["dm"], ["vanilla", "cobra"], fixed)
    assert others.loc[(0.7,), ("idc", "vanilla")] == "55.53 ± 3.18 (39.8 ± 0.37)"
    assert ("dc", "cobra") in others.columns
    assert skew_gap.paper_others(dm_table, "skew", "cifar10s", 10, ["dm"], ["cobra"], fixed).empty  # IPC 50 only


def test_cross_arch_and_low_ipc_have_no_paper_idc_or_cafe() -> None:
    arch = agg_rows([("cifar10s", "idc", "cobra", 50, 9.0, 45.0), ("cifar10s", "dm", "cobra", 50, 8.0, 50.0)])
    arch["eval.arch"] = "alexnet"
    table, _ = cross_arch.table(arch, "cifar10s", 50)
    assert table.loc[("alexnet",), ("dm", "cobra", "paper")] == "15.22 (46.2)"  # Table 3 prints no +-
    assert table.loc[("alexnet",), ("idc", "cobra", "paper")] == ""  # Table 3 is DM only
    assert table.loc[("alexnet",), ("idc", "cobra", "ours")] == "9.00 (45.0)"
    low = agg_rows([("cifar10s", "cafe", "cobra", 1, 9.0, 25.0), ("cifar10s", "dm", "cobra", 1, 5.0, 24.0)])
    table, _ = low_ipc.table(low)
    assert table.loc[("cifar10s", 1), ("dm", "cobra", "paper")] == "4.90 (23.6)"
    assert table.loc[("cifar10s", 1), ("cafe", "cobra", "paper")] == ""  # Table 10 is DC and DM only


@pytest.mark.parametrize("ipcs", [[10], [10, 50]])
def test_results_bars_legend_fits_the_figure_once_per_variant(ipcs: list[int]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = results_bars(AGG[AGG["ipc"].isin(ipcs) | AGG["ipc"].isna()])
    FigureCanvasAgg(fig).draw()
    (legend,) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == ["DM vanilla", "DM fairdd", "DM cobra", "FULL"]
    box, page = legend.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


def test_selection_baselines_take_a_column_of_their_own_beside_the_modes() -> None:
    with_baselines = pd.concat([AGG, agg_rows([("cfmnist_bg", "random", "", 10, 80.0, 30.0),
                                               ("cfmnist_bg", "random_balanced", "", 10, 70.0, 40.0)])])
    table, bold = main_table.table(with_baselines)
    assert list(table.columns.get_level_values("method").unique()) == ["dm", "random", "random_balanced", "full"]
    assert table.loc[("cfmnist_bg", 10), ("random_balanced", "", "ours")] == "70.00 (40.0)"
    assert table.loc[("cfmnist_bg", 10), ("random", "", "paper")] == ""  # the paper has no such baseline
    assert table.loc[("cfmnist_bg", 50), ("random", "", "ours")] == ""  # not run at IPC 50
    assert not bold.loc[:, ("random", "", "ours")].any()  # one column: nothing to beat
    assert "RANDOM 80.0 (30.0 %); RANDOM_BALANCED 70.0 (40.0 %)" in summary_sentence(with_baselines)
