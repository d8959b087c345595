"""cobra-lab reproduce: the plan (stand-ins, IPCs that fit, picked studies), ours beside the paper's cells, and a
smoke reproduction of two studies whose page is re-made from the store with nothing recomputed."""
from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from cobra_lab import paper
from cobra_lab.bench.results import write_results
from cobra_lab.cli import main
from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.notebook_run import notebook_title
from cobra_lab.reproduction.calibrated import calibrated_part
from cobra_lab.reproduction.command import study_overrides
from cobra_lab.reproduction.compare import paper_comparison
from cobra_lab.reproduction.execute import command, dry_run_lines, notebook_path, reproduce
from cobra_lab.reproduction.page import findings, read_overview, read_record
from cobra_lab.reproduction.plan import pick_studies, plan, spec, study_names, study_plan, with_seed
from cobra_lab.reproduction.seeds import (
    CHECK_SEEDS,
    NO_VERDICT,
    SeedVerdicts,
    every_seed_sentence,
    rerun_verdict,
    seed_plans,
    seeds_sentence,
)
from cobra_lab.store import run_id
from cobra_lab.sweep import expand

STUDIES = ["03", "09"]
SMALL = {"03_semantic_gap": {"gammas": [1, 4], "full": False}, "09_discrepancy": {"discrepancies": ["sq", "l2"]}}


def test_every_study_of_the_paper_has_a_section() -> None:
    shown = {spec()["studies"][name]["shows"] for name in study_names()}
    tables = {f"Table {n}" for n in (1, 2, 3, 4, 5, 10, 13, 15, 16, 17, 18, 19)}
    assert shown >= tables | {"Figure 3"}, sorted(tables | {"Figure 3"} - shown)


def test_studies_are_picked_by_number_or_name_in_page_order() -> None:
    assert pick_studies(["09", "03_semantic_gap"]) == [n for n in study_names() if n[:2] in ("03", "09")]
    assert pick_studies(None) == study_names()
    with pytest.raises(UserError, match="no study '99'"):
        pick_studies(["99"])


def test_a_download_is_replaced_by_the_stand_in_and_a_large_ipc_by_10(tmp_path: Path) -> None:
    skew_gap = study_plan("02_skew_gap", "cpu", tmp_path)
    assert skew_gap.params["dataset"] == spec()["stand_in"] and skew_gap.paper["dataset"] == "cifar10s"
    assert skew_gap.params["ipc"] == 10 and skew_gap.paper["ipc"] == 50
    assert skew_gap.replaced() == {"dataset": ("cifar10s", spec()["stand_in"]), "ipc": (50, 10)}
    assert {config["ipc"] for config in skew_gap.configs if config["method"] != "full"} == {10}
    assert skew_gap.params["runs"] is None  # the profile's evaluation nets
    main_table = study_plan("01_main_table", "smoke", tmp_path)  # smoke fits every paper IPC
    assert main_table.params["ipc"] == [10, 50, 100] and main_table.params["datasets"] == ["cfmnist_fg", "cfmnist_bg"]


def test_shared_runs_count_once_and_bad_overrides_are_one_line(tmp_path: Path) -> None:
    from cobra_lab.reproduction.plan import unique_configs

    plans = plan("smoke", ["02", "10"], tmp_path)
    assert len(unique_configs(plans)) <= sum(len(study.configs) for study in plans)
    with pytest.raises(UserError, match="has no parameter 'gammaz'"):
        plan("smoke", ["03"], tmp_path, {"03_semantic_gap": {"gammaz": [1]}})
    with pytest.raises(UserError, match="unknown studies: 77_x"):
        plan("smoke", ["03"], tmp_path, {"77_x": {}})


def test_ours_stands_beside_the_paper_s_cell_of_our_dataset_else_of_the_one_ours_stands_in_for() -> None:
    rows = pd.DataFrame([{"dataset": dataset, "method": "dm", "mode": mode, "ipc": 10, "seed": 0,
                          "distill.discrepancy": discrepancy, "acc": 50.0, "acc_std": 1.0, "eod_max": 20.0,
                          "eod_max_std": 2.0, "status": "done"}
                         for dataset in ("cfmnist_bg", "cdigits_bg")
                         for mode, discrepancy in [("cobra", "l2"), ("cobra", "sq"), ("vanilla", "sq")]])
    comparison = paper_comparison(rows, 4, ["cifar10s"])
    for ours, papers in [("cfmnist_bg", "cfmnist_bg"), ("cdigits_bg", "cifar10s")]:  # Table 4 reports cfmnist_bg
        l2 = comparison[(comparison["setting"] == f"dataset {ours}, discrepancy l2")].iloc[0]
        expected = paper.reported(4, dataset=papers, ipc=10, method="dm", mode="cobra", discrepancy="l2")
        assert l2["paper_dataset"] == papers and l2["eod_paper"] == expected.eod
        assert l2["eod_diff"] == pytest.approx(20.0 - expected.eod)
        assert math.isnan(l2["acc_paper"])  # Table 4 prints EOD only
    assert comparison[comparison["mode"] == "vanilla"]["eod_paper"].isna().all()  # Table 4 has no vanilla column
    # neither our dataset nor the one named as the paper's is in Table 4: no cell
    assert paper_comparison(rows, 4, ["cdigits_fg"]).query("dataset_ours == 'cdigits_bg'")["eod_paper"].isna().all()


def test_the_findings_list_every_claim_that_fails_here(tmp_path: Path) -> None:
    folder = tmp_path / "02_skew_gap"
    folder.mkdir()
    pd.DataFrame([{"claim": "COBRA is lowest", "paper": "Table 2", "numbers": "cobra 9 vs vanilla 3",
                   "verdict": "fails", "why": ""},
                  {"claim": "Vanilla rises", "paper": "Table 2", "numbers": "3 to 9", "verdict": "holds", "why": ""}]
                 ).to_csv(folder / "claims.csv", index=False)
    records = [{"params": {"seeds": [0], "out_dir": str(folder)}}]
    text = findings([folder], records)
    assert "1 of the paper's claims fails here" in text and "**COBRA is lowest** (02_skew_gap" in text
    assert "cobra 9 vs vanilla 3" in text and "Vanilla rises" not in text
    (folder / "claims.csv").unlink()
    assert "No claim of the paper fails here." in findings([folder], records)


def _calibration(folder: Path, profile: str, ipc: int, rows: list[tuple], method: str = "dm") -> None:
    """A calibration results file on cfmnist_bg: rows of (mode, budget, EOD_max, accuracy, seconds)."""
    def cell(mode: str) -> tuple[float, float]:
        return paper.cell(1, dataset="cfmnist_bg", ipc=ipc, method=method, mode=mode) or (math.nan, math.nan)

    write_results(folder / f"calibrate_cpu-{method}-ipc{ipc}-{profile}.json", "calibrate_cpu", {
        "method": method, "dataset": "cfmnist_bg", "ipc": ipc, "seed": 0, "profile": profile, "overrides": {},
        "time_limit_seconds": 900.0, "rows": [
            {"method": method, "mode": mode, "budget": at, "eod_max": eod, "eod_mean": eod / 2, "acc": acc,
             "acc_std": 0.1, "distill_seconds": seconds / 2, "eval_seconds": seconds / 2,
             "paper_eod_max": cell(mode)[0], "paper_acc": cell(mode)[1], "run_id": "x"}
            for mode, at, eod, acc, seconds in rows]})


def test_table_1_shows_the_calibrated_larger_ipc_cells_at_the_profile_s_budget(tmp_path: Path) -> None:
    budget = resolve("cfmnist_bg", "dm", "cobra", 50, profile="cpu")["distill"]["iterations"]
    fairdd_eod, fairdd_acc = paper.cell(1, dataset="cfmnist_bg", ipc=50, method="dm", mode="fairdd")
    cobra_eod, cobra_acc = paper.cell(1, dataset="cfmnist_bg", ipc=50, method="dm", mode="cobra")
    _calibration(tmp_path, "cpu", 50, [
        ("fairdd", budget, fairdd_eod * 1.2, fairdd_acc - 1, 600),   # near
        ("cobra", budget, cobra_eod * 2, cobra_acc, 600),              # EOD too far
        ("cobra", budget + 1, cobra_eod, cobra_acc, 600),              # another budget: not the profile's runs
        ("vanilla", budget, 100.0, 30.0, 600)])                        # not judged
    _calibration(tmp_path, "quick", 50, [("cobra", budget, cobra_eod, cobra_acc, 60)])  # another profile
    record = {"table": 1, "params": {"profile": "cpu", "ipc": [10]}}
    text, table, measured_by = calibrated_part(record, tmp_path)
    assert text[0] == "### Table 1 at IPC 50, from the profile's calibration"
    assert text[1].endswith("1 of these 2 cells lands near Table 1 (EOD_max at most 1.5x the paper's, accuracy at "
                            "most 3 points below it, one run within 15 minutes on this machine); not near: DM cobra "
                            "at IPC 50.")
    assert list(table["mode"]) == ["fairdd", "cobra"] and list(table["near"]) == ["yes", "no"]
    assert list(table["EOD paper"]) == [fairdd_eod, cobra_eod]
    assert f"--method dm --ipc 50 --budgets {budget} {budget + 1}" in measured_by
    assert calibrated_part({**record, "params": {"profile": "cpu", "ipc": [10, 50]}}, tmp_path) is None  # ran 50
    assert calibrated_part({**record, "table": 2}, tmp_path) is None


def test_a_calibration_short_of_the_profile_s_budget_or_without_a_mode_is_said_so(tmp_path: Path) -> None:
    budget = resolve("cfmnist_bg", "dc", "cobra", 50, profile="cpu")["distill"]["iterations"]
    _calibration(tmp_path, "cpu", 50, [("cobra", budget // 2, 90.0, 70.0, 1200)], method="dc")
    text, table, _ = calibrated_part({"table": 1, "params": {"profile": "cpu", "ipc": [10]}}, tmp_path)
    assert text[1].endswith(f"0 of these 2 cells land near Table 1 (EOD_max at most 1.5x the paper's, accuracy at "
                            f"most 3 points below it, one run within 15 minutes on this machine); not near: DC cobra "
                            f"at IPC 50; not measured: DC fairdd at IPC 50; DC at IPC 50 was measured at "
                            f"{budget // 2} of the profile's {budget} iterations.")
    assert list(table["near"]) == ["not measured", "no"]
    assert math.isnan(table.loc[0, "EOD ours"]) and table.loc[1, "EOD ours"] == 90.0
    assert not math.isnan(table.loc[0, "EOD paper"])  # the paper's cell beside a mode not measured


def test_a_seeded_study_is_rerun_at_each_check_seed_alone_in_its_own_folder(tmp_path: Path) -> None:
    skew_gap = study_plan("02_skew_gap", "smoke", tmp_path / "02_skew_gap")
    reruns = seed_plans(skew_gap)
    assert [rerun.seed for rerun in reruns] == list(CHECK_SEEDS)
    for rerun in reruns:
        assert rerun.params == {**skew_gap.params, "seeds": [rerun.seed],
                                "out_dir": str(tmp_path / "02_skew_gap" / f"seed{rerun.seed}")}
        assert len(rerun.configs) == len(skew_gap.configs) and {c["seed"] for c in rerun.configs} == {rerun.seed}
        assert command(rerun) == command(skew_gap)  # the study's command makes its reruns
    assert [rerun.params["seed"] for rerun in seed_plans(study_plan("08_residuals", "smoke", tmp_path))] == \
        list(CHECK_SEEDS)  # a study seeded by one seed
    assert seed_plans(study_plan("13_overhead", "smoke", tmp_path)) == []  # takes no seed
    own = study_plan("09_discrepancy", "smoke", tmp_path, {"seeds": [CHECK_SEEDS[0]]})
    assert [rerun.seed for rerun in seed_plans(own)] == list(CHECK_SEEDS[1:])  # its own seed is not run again
    assert all(rerun.overrides == own.overrides for rerun in seed_plans(own))


@pytest.mark.parametrize("reruns, sentence", [
    ({1: "fails", 2: "fails"}, "fails at seeds 0, 1 and 2"),
    ({1: "holds", 2: "within noise"}, "fails at seed 0; at seed 1 holds, at seed 2 within noise"),
    ({1: "fails", 2: None}, "fails at seeds 0 and 1; the rerun at seed 2 has not run yet"),
    ({1: None, 2: None}, "fails at seed 0; the reruns at seeds 1 and 2 have not run yet")])
def test_the_seed_sentence_says_at_which_seeds_a_failing_claim_fails(reruns: dict, sentence: str) -> None:
    assert seeds_sentence(SeedVerdicts([0], reruns)) == sentence


def test_the_seed_total_counts_the_claims_failing_at_every_seed_and_those_not_rerun() -> None:
    failing = [SeedVerdicts([0], {1: "fails", 2: "fails"}), SeedVerdicts([0], {1: "holds", 2: "fails"}),
               SeedVerdicts([0], {1: None, 2: "fails"}), SeedVerdicts(None, {})]
    assert every_seed_sentence(failing).startswith("1 of the 4 failing claims fails at every seed")
    assert "; 1 waits for a rerun that has not run yet; 1 is of studies that take no seed" in \
        every_seed_sentence(failing)
    assert every_seed_sentence(failing[1:2]).startswith("0 of the 1 failing claim fails at every seed")
    assert "takes no seed, so it is not rerun" in seeds_sentence(SeedVerdicts(None, {}))
    claims = pd.DataFrame({"claim": ["A", "B"], "verdict": ["holds", "fails"]})
    assert [rerun_verdict(claims, "B"), rerun_verdict(claims, "C"), rerun_verdict(None, "B")] == \
        ["fails", NO_VERDICT, None]


def _write_study(folder: Path, params: dict, verdicts: dict[str, str]) -> None:
    """A finished study's folder as the page reads it: its record's parameters and its claims table."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reproduction.json").write_text(json.dumps({"params": params}))
    pd.DataFrame([{"claim": claim, "paper": "Table 2", "numbers": "n", "verdict": verdict, "why": "1 comparison"}
                  for claim, verdict in verdicts.items()]).to_csv(folder / "claims.csv", index=False)


def test_the_findings_read_each_seed_rerun_from_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "02_skew_gap"
    params = {"seeds": [0], "skews": [0.6], "out_dir": str(folder)}
    _write_study(folder, params, {"A": "fails", "B": "fails", "C": "holds"})
    _write_study(folder / "seed1", with_seed(params, 1), {"A": "fails", "B": "holds", "C": "fails"})
    _write_study(folder / "seed2", {**with_seed(params, 2), "skews": [0.9]}, {"A": "fails"})  # another setting's
    text = findings([folder], [{"params": params}])
    assert "- **A** (02_skew_gap; the paper: Table 2): n. It fails at seeds 0 and 1; the rerun at seed 2 has not " \
           "run yet." in text
    assert "- **B** (02_skew_gap; the paper: Table 2): n. It fails at seed 0; at seed 1 holds; the rerun at seed 2 " \
           "has not run yet." in text
    assert "0 of the 2 failing claims fail at every seed" in text and "2 wait for a rerun" in text
    _write_study(folder / "seed2", with_seed(params, 2), {"A": "fails"})
    text = findings([folder], [{"params": params}])
    assert "It fails at seeds 0, 1 and 2." in text and f"at seed 1 holds, at seed 2 {NO_VERDICT}." in text
    assert "1 of the 2 failing claims fails at every seed" in text and "wait" not in text


@pytest.fixture
def faked_runs(monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    """The reproduction with its runs and notebooks replaced (what is checked is which run where, and when): the
    grids of each sweep, and the folder of each notebook executed. The claim fails at each study's own seed and
    at seed 2, and holds at seed 1."""
    from cobra_lab.reproduction import execute

    sweeps, executed = [], []

    def sweep(grids: list[dict], **options) -> pd.DataFrame:
        sweeps.append(grids)
        return pd.DataFrame([{"run_id": run_id(config), "status": "failed", "seconds": 0.0}
                             for config in expand(grids, max_runs=None)])

    def notebook(study) -> float:
        executed.append(study.params["out_dir"])
        _write_study(Path(study.params["out_dir"]), study.params, {"COBRA is lowest": "holds" if study.seed == 1
                                                                   else "fails"})
        return 0.0

    monkeypatch.setattr(execute, "run_grid", sweep)
    monkeypatch.setattr(execute, "_run_notebook", notebook)
    return sweeps, executed


def test_the_seed_check_reruns_the_failing_studies_in_one_sweep_and_never_twice(faked_runs, tmp_path: Path) -> None:
    sweeps, executed = faked_runs
    studies = ["02", "08", "13"]
    plans = plan("smoke", studies, tmp_path / "reproduction")
    assert "seed check: 0 of the 3 studies have a claim that fails so far; more may follow once the 3 notebooks " \
           "still to run have run" in dry_run_lines(plans, tmp_path)
    html = reproduce("smoke", studies, out=tmp_path, progress=False)
    reruns = [rerun for study in plans for rerun in seed_plans(study)]
    assert [rerun.params["out_dir"] for rerun in reruns] == [
        str(tmp_path / "reproduction" / "smoke" / name / f"seed{seed}")
        for name in ("02_skew_gap", "08_residuals") for seed in CHECK_SEEDS]  # 13_overhead takes no seed
    assert sweeps == [[grid for study in plans for grid in study.grids],
                      [grid for rerun in reruns for grid in rerun.grids]]  # one sweep for all the reruns
    assert sorted(executed) == sorted(study.params["out_dir"] for study in plans + reruns)
    assert all(read_record(Path(rerun.params["out_dir"]))["params"] == rerun.params for rerun in reruns)
    markdown = html.with_suffix(".md").read_text()
    assert markdown.count("It fails at seeds 0 and 2; at seed 1 holds.") == 2
    assert "It fails in the study's one run; the study takes no seed" in markdown
    assert "0 of the 3 failing claims fail at every seed" in markdown and "1 is of studies that take no" in markdown
    lines = dry_run_lines(plans, tmp_path)
    assert "seed check: 3 of the 3 studies have a claim that fails so far" in lines
    assert "13_overhead (Table 13): a claim fails, but the study takes no seed: not rerun" in lines
    assert sum(f"at seed {seed} (" in line and line.endswith("notebook done") for line in lines
               for seed in CHECK_SEEDS) == len(reruns)
    executed.clear()
    again = reproduce("smoke", studies, out=tmp_path, page=html.parent, progress=False)
    assert executed == [] and again.with_suffix(".md").read_text() == markdown  # found, not executed again


def test_no_seed_check_runs_no_rerun_and_the_page_says_so(faked_runs, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    sweeps, executed = faked_runs
    argv = ["reproduce", "--profile", "smoke", "--studies", "08", "--out", str(tmp_path), "--quiet"]
    assert main([*argv, "--no-seed-check"]) == 0
    folder = tmp_path / "reproduction" / "smoke" / "08_residuals"
    assert len(sweeps) == 1 and executed == [str(folder)] and not list(folder.glob("seed*"))
    page = (tmp_path / "reproduction" / "smoke" / "page" / "index.md").read_text()
    assert "It fails at seed 0; the reruns at seeds 1 and 2 have not run yet." in page
    capsys.readouterr()
    assert main([*argv, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "seed check: 1 of the 1 studies has a claim that fails so far\n" in printed
    assert all(f"08_residuals at seed {seed} (Table 5):" in printed for seed in CHECK_SEEDS)
    assert "seed check" not in (main([*argv, "--dry-run", "--no-seed-check"]), capsys.readouterr().out)[1]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory, study_env: Path) -> tuple[Path, Path, float]:
    """Two studies reproduced at the smoke profile in the shared store: the page's HTML file and its folder."""
    page = tmp_path_factory.mktemp("reproduction") / "page"
    started = time.perf_counter()
    html = reproduce("smoke", STUDIES, page=page, overrides=SMALL, progress=False, seed_check=False)
    return html, study_env, time.perf_counter() - started


@pytest.mark.requires_fashion_mnist
def test_the_page_has_each_study_with_numbers_claims_figures_and_command(reproduced) -> None:
    html, store, _ = reproduced
    markdown = html.with_suffix(".md").read_text()
    for study in ("03_semantic_gap", "09_discrepancy"):
        section = markdown.split(f"## {notebook_title(notebook_path(study))}")[1].split("\n## ")[0]
        first = section.strip().splitlines()[0]
        assert first.startswith("C-FMNIST (BG) stands in for the paper's CIFAR10-S"), first
        argv = shlex.split(re.search(r"Made by `([^`]+)`", section).group(1))  # the command makes this section
        assert argv[:6] == ["cobra-lab", "reproduce", "--profile", "smoke", "--studies", study[:2]]
        assert study_overrides([argv[i + 1] for i, token in enumerate(argv) if token == "--param"]) == \
            {study: SMALL[study]}
        assert "### The paper's claims, checked here" in section and "### Ours beside the paper" in section
        for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", section):
            assert (html.parent / image).stat().st_size > 0
    table4 = pd.read_csv(html.parent / "results" / "09_discrepancy" / "comparison.csv")
    matched = table4.dropna(subset=["eod_paper"])
    assert len(matched) and (matched["eod_diff"] == matched["eod_ours"] - matched["eod_paper"]).all()
    overview = read_overview(html.parent)
    assert list(overview["study"]) == ["09_discrepancy", "03_semantic_gap"]  # the page's order: Table 4, Table 19
    claimed = int(overview[["holds", "fails", "within noise", "not measured"]].sum().sum())
    holds = int(overview["holds"].sum())
    assert f"{holds} of the paper's {claimed} claims {'holds' if holds == 1 else 'hold'} here, over 2 studies" \
        in markdown
    assert '<img src="verdicts.png"' in html.read_text()


@pytest.mark.requires_fashion_mnist
def test_the_page_is_remade_from_the_store_in_under_a_minute_with_the_same_numbers(reproduced, tmp_path) -> None:
    html, original, _ = reproduced
    store = tmp_path / "clone" / "outputs"  # the store as a clone elsewhere gets it
    shutil.copytree(original, store)
    folders = [store / "reproduction" / "smoke" / name for name in ("09_discrepancy", "03_semantic_gap")]
    before = [read_record(folder)["finished_at"] for folder in folders]
    lines = dry_run_lines(plan("smoke", STUDIES, store / "reproduction", SMALL), store, seed_check=False)
    counts = [re.search(r"(\d+) (?:distinct )?runs.*?(\d+) stored", line).groups() for line in lines]
    assert all(runs == stored != "0" for runs, stored in counts), lines
    assert all("notebook done" in line for line in lines[:-1]), lines
    started = time.perf_counter()
    again = reproduce("smoke", STUDIES, store, page=tmp_path / "page", overrides=SMALL, progress=False,
                      seed_check=False)
    assert time.perf_counter() - started < 60
    assert [read_record(folder)["finished_at"] for folder in folders] == before  # no notebook ran again
    assert again.with_suffix(".md").read_text() == html.with_suffix(".md").read_text()


@pytest.mark.requires_fashion_mnist
def test_the_page_opens_in_chromium_with_every_image_loaded(reproduced, tmp_path: Path) -> None:
    from test_browser import missing_browser, start_chromium

    if reason := missing_browser():
        pytest.skip(reason)
    html, _, _ = reproduced
    driver = start_chromium(tmp_path / "chromium")
    try:
        driver.get(html.as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth]);")
        headings = driver.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
    finally:
        driver.quit()
    assert len(images) >= 3 and all(width > 0 for _, width in images), images  # the verdicts and each study's
    assert headings == ["Findings of our own",
                        *(notebook_title(notebook_path(name)) for name in ("09_discrepancy", "03_semantic_gap"))]


def test_a_bad_study_is_one_line_and_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["reproduce", "--studies", "99", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no study '99'" in err
