"""The paper's column beside ours: its metric (Table 9 for eod_mean), its +-, the knobs a sweep fixes, its notes."""
from __future__ import annotations

import pandas as pd

from cobra_lab import paper
from cobra_lab.studies import skew_gap
from cobra_lab.studies.tables import paper_only_table, paper_text, results_table, styled

TABLE1 = ["dataset", "ipc"]


def one_row(metric_values: tuple[float, float], **setting: object) -> pd.DataFrame:
    """An aggregated frame of one DM COBRA result, with its (eod_max, eod_mean) and the given settings."""
    frame = pd.DataFrame([{**setting, "method": "dm", "mode": "cobra", "eod_max": metric_values[0],
                           "eod_max_std": 0.0, "eod_mean": metric_values[1], "eod_mean_std": 0.0, "acc": 70.0,
                           "acc_std": 0.0, "seeds": 1}])
    if "ipc" in frame:
        frame["ipc"] = frame["ipc"].astype("Int64")
    return frame


def test_table9_holds_the_mean_eod_of_table1s_settings() -> None:
    cells = {mode: paper.find(9, dataset="cfmnist_bg", ipc=10, method="dm", mode=mode)
             for mode in ("vanilla", "fairdd", "cobra")}
    assert {mode: (row["eod_mean"], row["eod_mean_std"]) for mode, row in cells.items()} == \
        {"vanilla": (99.5, 0.08), "fairdd": (24.05, 0.4), "cobra": (21.48, 1.23)}
    assert len(paper.rows(9)) == len([row for row in paper.rows(1) if row["method"] != "full"])


def test_every_column_shows_its_own_metric() -> None:
    agg = one_row((66.3, 30.0), dataset="cfmnist_bg", ipc=10)
    by_max, _ = results_table(agg, TABLE1, paper.lookup(1, TABLE1), metric="eod_max")
    by_mean, _ = results_table(agg, TABLE1, paper.lookup(1, TABLE1, metric="eod_mean"), metric="eod_mean")
    assert by_max.loc[("cfmnist_bg", 10), ("dm", "cobra", "paper")] == "33.80 ± 1.72 (70.6 ± 0.18)"  # Tables 1, 7, 8
    assert by_mean.loc[("cfmnist_bg", 10), ("dm", "cobra", "paper")] == "21.48 ± 1.23 (70.6 ± 0.18)"  # Tables 9, 7
    gamma = one_row((60.0, 30.0), dataset="cifar10s", ipc=10, semantic_gap=3)
    table19 = paper.lookup(19, ["semantic_gap"], metric="eod_mean", dataset="cifar10s", ipc=10)
    by_mean, _ = results_table(gamma, ["semantic_gap"], table19, metric="eod_mean")
    assert by_mean.loc[(3,), ("dm", "cobra", "paper")] == ""  # the paper prints no mean EOD there: none, not max


def test_table2_answers_only_where_every_fixed_knob_is_the_papers() -> None:
    agg = one_row((20.0, 10.0), dataset="cifar10s", ipc=50, gap=3)
    at_papers = skew_gap.fixed_knobs("gap", fixed_gap=0, fixed_skew=0.8)
    assert at_papers == {"skew": 0.8, "render": "shared"}
    table, _ = skew_gap.table(agg, "gap", "cifar10s", 50, fixed=at_papers)
    assert table.loc[(3,), ("dm", "cobra", "paper")] == "17.28 ± 3.34 (41.2 ± 0.60)"
    for other in ({"skew": 0.9, "render": "shared"}, {"skew": 0.8, "render": "clean"}):
        table, _ = skew_gap.table(agg, "gap", "cifar10s", 50, fixed=other)
        assert table.loc[(3,), ("dm", "cobra", "paper")] == "", other
    skew = one_row((20.0, 10.0), dataset="cifar10s", ipc=50, skew=0.7)
    assert skew_gap.table(skew, "skew", "cifar10s", 50, fixed={"gap": 2, "render": "clean"})[0].loc[
        (0.7,), ("dm", "cobra", "paper")] == ""  # the paper's SKEW sweep is at GAP 0


def test_the_papers_self_disagreements_are_noted_and_shown() -> None:
    noted = [row for row in paper._stored()["rows"] if "note" in row]
    settings = {(row["table"], row["dataset"], row.get("sweep"), row.get(row.get("sweep", ""), row.get("ipc")),
                 row["method"], row["mode"]) for row in noted}
    assert {(2, "cifar10s", "gap", 4, "dc", "vanilla"), (2, "cifar10s", "gap", 3, "dc", "fairdd"),
            (2, "cifar10s", "skew", 0.6, "idc", "fairdd"), (1, "cmnist_fg", None, 10, "idc", "cobra")} <= settings
    assert any(row["table"] == 16 and row["dataset"] == "cfmnist_bg" and row["known_groups"] == 1.0 and
               row["mode"] == "cobra" for row in noted)
    gap = skew_gap.paper_column("gap", "cifar10s", 50, skew_gap.fixed_knobs("gap", 0, 0.8))
    reported = gap((4,), "dc", "vanilla")
    assert "27.43" in reported.note and paper_text(*reported).endswith("†")
    agg = one_row((20.0, 10.0), dataset="cifar10s", ipc=50, gap=4).assign(method="dc", mode="vanilla")
    table, bold = skew_gap.table(agg, "gap", "cifar10s", 50, fixed=skew_gap.fixed_knobs("gap", 0, 0.8))
    caption = styled(table, bold, caption="GAP sweep").caption
    assert caption.startswith("GAP sweep<br>†DC vanilla at 4: Table 11 prints this accuracy as 27.43")
    others = paper_only_table(table.index, gap, ["dc"], ["fairdd"])
    assert others.attrs["notes"] == []  # DC FairDD at GAP 4 agrees across the paper's tables
