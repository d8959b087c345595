"""The notebooks' reading sentences: computed from the results they read, the spread deciding a comparison."""
from __future__ import annotations

import pandas as pd

from cobra_lab.studies.reading import baselines_sentence, compare, ranking_sentence, sweep_sentence


def results(rows: list[tuple]) -> pd.DataFrame:
    """An aggregated frame from (method, mode, gap, eod_max, eod_max_std, acc) tuples."""
    return pd.DataFrame(rows, columns=["method", "mode", "gap", "eod_max", "eod_max_std", "acc"])


SWEEP = results([("dm", "vanilla", 0, 10.0, 1.0, 50.0), ("dm", "vanilla", 2, 90.0, 1.0, 30.0),
                 ("dm", "cobra", 0, 10.5, 1.0, 51.0), ("dm", "cobra", 2, 40.0, 2.0, 45.0),
                 ("full", "full", 0, 5.0, 0.5, 80.0), ("full", "full", 2, 6.0, 0.5, 79.0)])


def test_sweep_sentence_reads_the_ends_and_decides_by_the_spread() -> None:
    sentence = sweep_sentence(SWEEP, "gap")
    assert sentence.startswith("EOD (max over classes) (accuracy) along gap: DM vanilla 10.0 (50.0 %) at gap 0 to "
                               "90.0 (30.0 %) at gap 2; DM cobra 10.5 (51.0 %) at gap 0 to 40.0 (45.0 %) at gap 2; "
                               "FULL 5.0 (80.0 %) at gap 0 to 6.0 (79.0 %) at gap 2.")
    assert sentence.endswith("DM COBRA's EOD against vanilla's, beyond the spread over evaluation nets and seeds: "
                             "below it at 1, within the spread of it at 1 of 2 gap values.")
    reversed_sweep = SWEEP.assign(eod_max=SWEEP["eod_max"].where(SWEEP["mode"] != "cobra", 99.0))
    assert "above it at 2 of 2 gap values" in sweep_sentence(reversed_sweep, "gap")
    assert sweep_sentence(SWEEP.iloc[:0], "gap") == "No finished runs to read."


def test_compare_needs_the_difference_to_exceed_the_combined_spread() -> None:
    ours = pd.Series({"eod_max": 10.0, "eod_max_std": 3.0})
    assert compare(ours, pd.Series({"eod_max": 14.0, "eod_max_std": 4.0}), "eod_max") == "within the spread of"
    assert compare(ours, pd.Series({"eod_max": 16.0, "eod_max_std": 4.0}), "eod_max") == "below"
    assert compare(ours, pd.Series({"eod_max": 4.0, "eod_max_std": 4.0}), "eod_max") == "above"


def test_ranking_sentence_orders_and_names_a_tie_within_noise() -> None:
    frame = pd.DataFrame({"intervention": ["vanilla", "DF", "COBRA"], "eod_max": [100.0, 60.0, 58.0],
                          "eod_max_std": [0.0, 5.0, 5.0], "acc": [28.0, 67.0, 71.0]})
    sentence = ranking_sentence(frame, "intervention")
    assert sentence == ("EOD (max over classes) (accuracy), lowest first: COBRA 58.0 (71.0 %), DF 60.0 (67.0 %), "
                        "vanilla 100.0 (28.0 %). COBRA is lowest but within the spread over evaluation nets and "
                        "seeds of the next, DF.")
    apart = frame.assign(eod_max_std=0.1)
    assert "COBRA is lowest beyond the spread" in ranking_sentence(apart, "intervention")


def test_fairdd_and_cobra_are_one_objective_under_the_squared_distance() -> None:
    import torch

    from cobra_lab.methods.dm import DISTANCES
    from cobra_lab.modes import Cobra, FairDD
    from cobra_lab.studies.reading import objectives_sentence

    gen = torch.Generator().manual_seed(0)
    phi, counts = torch.randn(3, 4, 5, generator=gen), torch.ones(3, 4)  # [C, G, D], [C, G]
    syn = [torch.randn(3, 5, generator=gen) for _ in range(2)]  # two synthetic statistics [C, D]

    def change(mode: FairDD | Cobra, distance: str) -> torch.Tensor:
        losses = [mode.loss(phi, counts, s, DISTANCES[distance]) for s in syn]
        return losses[0] - losses[1]

    fairdd, cobra = FairDD("fairdd", sampling="stratified"), Cobra("cobra", sampling="stratified")
    assert torch.allclose(change(fairdd, "sq"), 4 * change(cobra, "sq"), atol=1e-4)  # G x COBRA's, up to a constant
    assert not torch.allclose(change(fairdd, "l1"), 4 * change(cobra, "l1"), atol=1e-2)
    dm = objectives_sentence("cdigits_bg", "dm", 10, "smoke")
    assert "one objective" in dm and "G times COBRA's loss" in dm and "fairdd_reduction: sum" in dm
    assert "different objectives" in objectives_sentence("cdigits_bg", "dc", 10, "smoke")


def test_objectives_sentences_only_where_both_modes_run() -> None:
    from cobra_lab.studies.reading import objectives_sentences

    assert objectives_sentences("cdigits_bg", ["dm"], ["vanilla", "cobra"], 10, "smoke") == []
    assert len(objectives_sentences("cdigits_bg", ["dm", "dc"], ["fairdd", "cobra"], 10, "smoke")) == 2


def test_discrepancy_variants_name_vanilla_and_each_barycenter() -> None:
    from cobra_lab.studies import discrepancy

    agg = pd.DataFrame({"mode": ["vanilla", "cobra", "cobra"], "distill.discrepancy": ["sq", "sq", "l1"],
                        "eod_max": [100.0, 60.0, 70.0], "eod_max_std": [1.0, 1.0, 1.0], "acc": [30.0, 70.0, 69.0]})
    assert list(discrepancy.labelled(agg)["variant"]) == ["vanilla", "sq", "l1"]
    assert ranking_sentence(discrepancy.labelled(agg), "variant").startswith(
        "EOD (max over classes) (accuracy), lowest first: sq 60.0 (70.0 %), l1 70.0 (69.0 %), vanilla")


def test_paper_setting_files_expand_and_differences_are_named() -> None:
    from cobra_lab.studies import grids_from_file, notebook_params
    from cobra_lab.studies.paper_setting import differences_sentence, paper_file, paper_params
    from cobra_lab.sweep import expand

    paper = paper_params("02_skew_gap")
    assert paper["dataset"] == "cifar10s" and paper["fixed_skew"] == 0.8 and paper["gap_render"] == "shared"
    assert paper["skews"] == [0.6, 0.65, 0.7, 0.75, 0.8, 0.85] and paper["ipc"] == 50
    configs = expand(grids_from_file(paper_file("02_skew_gap")))
    assert {c["dataset"] for c in configs} == {"cifar10s"} and {c["profile"] for c in configs} == {"paper"}
    assert set(paper) <= set(notebook_params("02_skew_gap"))  # papermill -f sets only the notebook's parameters
    assert differences_sentence("02_skew_gap", paper) == \
        "This run is the paper's setting (params/paper/02_skew_gap.yaml)."
    reordered = {**paper, "methods": paper["methods"][::-1]}
    assert differences_sentence("02_skew_gap", reordered) == differences_sentence("02_skew_gap", paper)
    ours = differences_sentence("02_skew_gap", {**paper, "dataset": "cfmnist_bg", "profile": "smoke"})
    assert ours.startswith("This run differs from the paper's setting in 2 parameters: profile 'smoke' (paper: "
                           "'paper'); dataset 'cfmnist_bg' (paper: 'cifar10s')")


def test_every_notebook_with_a_paper_setting_says_how_this_run_differs() -> None:
    """Right after its parameters, a study notebook with params/paper/<name>.yaml prints the sentence naming where
    this run differs from the paper's setting."""
    import nbformat

    from cobra_lab.paths import repo_root

    files = sorted((repo_root() / "params" / "paper").glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        cells = nbformat.read(repo_root() / "notebooks" / f"{path.stem}.ipynb", as_version=4).cells
        tagged = next(i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", []))
        assert f'print(differences_sentence("{path.stem}", globals()))' in cells[tagged + 1].source, path.stem


def test_every_paper_file_holds_only_its_notebooks_parameters_and_expands() -> None:
    from cobra_lab.paths import repo_root
    from cobra_lab.studies import grids_from_file, notebook_params
    from cobra_lab.studies.paper_setting import paper_params
    from cobra_lab.sweep import expand

    files = sorted((repo_root() / "params" / "paper").glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        assert set(paper_params(path.stem)) <= set(notebook_params(path.stem)), path.name
        assert {c["profile"] for c in expand(grids_from_file(path))} == {"paper"}, path.name


def test_baselines_sentence_counts_the_settings_where_a_set_beats_every_baseline() -> None:
    frame = pd.DataFrame([("dm", "vanilla", 10, 90.0, 50.0), ("dm", "cobra", 10, 20.0, 60.0),
                          ("dm", "cobra", 50, 50.0, 40.0), ("random", "", 10, 30.0, 55.0),
                          ("random_balanced", "", 10, 25.0, 58.0), ("random", "", 50, 60.0, 45.0),
                          ("full", "full", None, 5.0, 80.0)], columns=["method", "mode", "ipc", "eod_max", "acc"])
    frame["preset"] = None  # a column of the aggregate that is None in every row
    assert baselines_sentence(frame) == (
        "Against picking real images at the same IPC (RANDOM and RANDOM_BALANCED), the settings where a distilled "
        "set has a lower EOD (max over classes) than every baseline and a higher accuracy than every baseline: "
        "DM vanilla lower EOD in 0, higher accuracy in 0 of 1; DM cobra lower EOD in 2, higher accuracy in 1 of 2.")
    assert baselines_sentence(frame[frame["method"] != "random"].iloc[:3]).startswith("No distilled set")
