"""The reproduction's page, made from the studies' folders alone (nothing recomputed): a summary of the claims,
then per study our numbers beside the paper's, its claims, its figures and the command that made it; written as
Markdown (index.md, renders on a code host) and HTML (index.html), with the figures and results files beside."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import mistune
import pandas as pd

from ..claims import VERDICTS
from ..io import atomic_write_bytes, atomic_write_text
from ..plots import save_figure
from ..studies.label_noise import dilution_sentence
from .calibrated import calibrated_part
from .compare import paper_comparison
from .figure import verdicts_figure
from .plan import dataset_name, same_setting, seed_folder, with_seed
from .seeds import SeedVerdicts, check_seeds, every_seed_sentence, own_seeds, rerun_verdict, seeds_sentence

RESULTS_SUFFIXES = (".csv", ".json")
VERDICTS_FIGURE = "verdicts.png"
STYLE = ("body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
         "table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}"
         "td,th{border:1px solid #ccc;padding:.2rem .4rem}"
         "img{max-width:100%}code{background:#f4f4f4}")


def read_record(folder: Path) -> dict | None:
    """A study folder's record (reproduction.json), None where the study has not finished."""
    try:
        return json.loads((folder / "reproduction.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _number(value: float, spread: float = math.nan, digits: int = 1, sign: bool = False) -> str:
    """``value ± spread`` (the spread where known; ``sign``: always a sign), blank for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text if spread is None or math.isnan(spread) else f"{text} ± {spread:.{digits}f}"


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (cells as text, pipes escaped)."""
    cells = frame.astype(str).map(lambda text: text.replace("|", "\\|").replace("\n", " "))
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)])


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison for reading: each metric ours, the paper's and ours - paper."""
    return pd.DataFrame({
        "setting": comparison["setting"].fillna(""), "method": comparison["method"], "mode": comparison["mode"],
        "EOD ours": [_number(v, s) for v, s in zip(comparison["eod_ours"], comparison["eod_ours_std"])],
        "EOD paper": [_number(v, s) for v, s in zip(comparison["eod_paper"], comparison["eod_paper_std"])],
        "EOD diff": [_number(v, sign=True) for v in comparison["eod_diff"]],
        "Acc ours": [_number(v, s) for v, s in zip(comparison["acc_ours"], comparison["acc_ours_std"])],
        "Acc paper": [_number(v, s) for v, s in zip(comparison["acc_paper"], comparison["acc_paper_std"])],
        "Acc diff": [_number(v, sign=True) for v in comparison["acc_diff"]]})


def comparison_sentence(comparison: pd.DataFrame) -> str:
    """How many settings the paper prints a cell for, and ours - paper on average in EOD and accuracy."""
    matched = comparison.dropna(subset=["eod_paper"])
    if matched.empty:
        return "The paper prints no cell for the settings run here."
    acc = matched["acc_diff"].dropna()
    pairs = ", ".join(f"our {dataset_name(ours)} beside its {dataset_name(papers)}" for ours, papers in
                      matched[["dataset_ours", "paper_dataset"]].drop_duplicates().itertuples(index=False))
    return (f"The paper prints {len(matched)} of the {len(comparison)} settings run here ({pairs}); ours - paper: "
            f"EOD (max) "
            f"{matched['eod_diff'].mean():+.1f} on average (from {matched['eod_diff'].min():+.1f} to "
            f"{matched['eod_diff'].max():+.1f})" + (f", accuracy {acc.mean():+.1f}." if len(acc) else "."))


def _names(value: object) -> str:
    """Dataset keys as the paper names them."""
    return ", ".join(dataset_name(name) for name in (value if isinstance(value, list) else [value]))


def setting_lines(record: dict) -> list[str]:
    """The study's first lines: which datasets stand in for the paper's, which IPC replaced the paper's."""
    lines = []
    for key, (papers, ours) in record["replaced"].items():
        if key in ("ipc", "ipcs"):
            lines.append(f"IPC {ours} (the paper: {papers}): one run at the paper's IPC does not fit 15 minutes at "
                         f"the {record['params']['profile']} profile on this machine.")
        elif set(ours if isinstance(ours, list) else [ours]) <= set(papers if isinstance(papers, list) else [papers]):
            lines.append(f"Of the paper's {_names(papers)} ({key}), this runs {_names(ours)}: the others need a "
                         f"download.")
        else:
            lines.append(f"{_names(ours)} stands in for the paper's {_names(papers)} ({key}), which this machine "
                         f"cannot download.")
    return lines


def claims_counts(claims: pd.DataFrame | None) -> dict[str, int]:
    """How many of a study's claims have each verdict."""
    counts = claims["verdict"].value_counts() if claims is not None else pd.Series(dtype=int)
    return {verdict: int(counts.get(verdict, 0)) for verdict in VERDICTS}


def _read_csv(path: Path) -> pd.DataFrame | None:
    """A results file, None where the study wrote none (an empty table where it wrote one without columns: the
    runs of a study that makes none)."""
    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _duration(seconds: float) -> str:
    """Seconds as hours and minutes (seconds under a minute)."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def study_section(folder: Path, record: dict, page: Path) -> tuple[str, dict[str, int]]:
    """One study's Markdown section (its figures and results files copied under ``page``) and its claim counts."""
    name = record["study"]
    claims = _read_csv(folder / "claims.csv")
    runs = _read_csv(folder / "reproduction_runs.csv")
    comparison = paper_comparison(runs, record["table"], record["paper_datasets"]) if runs is not None and len(runs) \
        else None
    parts = [f"## {record['title']}", *setting_lines(record),
             f"Profile `{record['params']['profile']}`; {record['runs']} runs; "
             f"wall time {_duration(record['wall_seconds'])} "
             f"(runs {_duration(record['runs_seconds'])}, notebook {_duration(record['notebook_seconds'])}), "
             f"finished {record['finished_at']}. Made by `{record['command']}`.",
             f"The paper's numbers: {record['source']}."]
    if comparison is not None and len(comparison):
        parts += ["### Ours beside the paper", comparison_sentence(comparison),
                  markdown_table(comparison_table(comparison))]
    calibrated = calibrated_part(record)
    if calibrated is not None:
        text, table, measured_by = calibrated
        numbers = table.select_dtypes("float").columns
        parts += [*text, markdown_table(table.assign(**{name: table[name].map(_number) for name in numbers})),
                  measured_by]
    if claims is not None:
        parts += ["### The paper's claims, checked here", markdown_table(claims.fillna(""))]
    figures = sorted(folder.glob("*.png"))
    if figures:
        parts.append("### Figures")
    for figure in figures:
        target = page / "figures" / name / figure.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure, target)
        parts.append(f"![{name}: {figure.stem}](figures/{name}/{figure.name})")
    results = sorted(path for path in folder.iterdir()
                     if path.suffix in RESULTS_SUFFIXES and path.name != "comparison.csv")  # the page writes its own
    for path in results:
        target = page / "results" / name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    if comparison is not None:
        results.append(atomic_write_bytes(page / "results" / name / "comparison.csv",
                                          comparison.to_csv(index=False).encode()))
    parts.append("Results files: " + ", ".join(f"[{path.name}](results/{name}/{path.name})" for path in results))
    return "\n\n".join(parts), claims_counts(claims)


def overview(records: list[dict], counts: list[dict[str, int]]) -> pd.DataFrame:
    """One row per study: what it shows, its runs and wall time, and how many of its claims have each verdict."""
    return pd.DataFrame([{"study": record["study"], "shows": record["shows"], "runs": record["runs"],
                          "wall time": _duration(record["wall_seconds"]), **count}
                         for record, count in zip(records, counts)],
                        columns=["study", "shows", "runs", "wall time", *VERDICTS])


def read_overview(page: Path) -> pd.DataFrame:
    """The overview table a page was written with (results/overview.csv)."""
    return pd.read_csv(page / "results" / "overview.csv")


def overview_sentence(table: pd.DataFrame) -> str:
    """How many of the paper's claims hold here, and how the others ended."""
    total = {verdict: int(table[verdict].sum()) for verdict in VERDICTS}
    claimed = sum(total.values())
    return (f"{total['holds']} of the paper's {claimed} claim{'' if claimed == 1 else 's'} "
            f"{'holds' if total['holds'] == 1 else 'hold'} here, over {len(table)} "
            f"stud{'y' if len(table) == 1 else 'ies'}; "
            + ", ".join(f"{total[verdict]} {verdict}" for verdict in VERDICTS if verdict != "holds") + ".")


def summary(records: list[dict], table: pd.DataFrame) -> str:
    """The page's top: the machine, how many claims hold, the verdicts figure and the per-study table."""
    profiles = sorted({record["params"]["profile"] for record in records})
    machine = records[0]["machine"] if records else {}
    return "\n\n".join([
        "# The COBRA paper, reproduced with cobra-lab",
        f"Profile {', '.join(profiles)}; {len(records)} stud{'y' if len(records) == 1 else 'ies'} on "
        f"{machine.get('cpu', '?')} "
        f"({machine.get('cpus', '?')} CPUs{', ' + machine['gpu'] if machine.get('gpu') else ''}), torch "
        f"{machine.get('torch', '?')}. Each section names the command that made it; the same command re-makes "
        f"this page from the stored runs.",
        f"**{overview_sentence(table)}**", f"![the claims per study]({VERDICTS_FIGURE})", markdown_table(table)])


def _rerun_claims(folder: Path, params: dict) -> dict[int, pd.DataFrame | None]:
    """The claims table of each seed-check rerun of the study in ``folder`` (whose own run had ``params``); None
    where that rerun has not run yet with the study's parameters."""
    tables: dict[int, pd.DataFrame | None] = {}
    for seed in check_seeds(params):
        rerun = seed_folder(folder, seed)
        record = read_record(rerun)
        current = record is not None and same_setting(record["params"], with_seed(params, seed))
        tables[seed] = _read_csv(rerun / "claims.csv") if current else None
    return tables


def findings(folders: list[Path], records: list[dict]) -> str:
    """Our own findings, read from the finished studies' folders (and their ``records``): every claim that fails
    here with its numbers and the seeds it fails at (the seed check's reruns), and what the label-noise study's
    dilution analysis says about noisy group labels."""
    failing, across_seeds = [], []
    for folder, record in zip(folders, records):
        claims = _read_csv(folder / "claims.csv")
        if claims is None:
            continue
        params = record["params"]
        reruns = _rerun_claims(folder, params)
        for _, row in claims[claims["verdict"] == "fails"].iterrows():
            verdicts = SeedVerdicts(own_seeds(params), {seed: rerun_verdict(table, row["claim"])
                                                        for seed, table in reruns.items()})
            across_seeds.append(verdicts)
            failing.append(f"- **{row['claim']}** ({folder.name}; the paper: {row['paper']}): {row['numbers']}. "
                           f"It {seeds_sentence(verdicts)}.")
    parts = ["## Findings of our own",
             (f"{len(failing)} of the paper's claims {'fails' if len(failing) == 1 else 'fail'} here:" if failing
              else "No claim of the paper fails here."),
             *(["\n".join(failing), every_seed_sentence(across_seeds)] if failing else [])]
    dilution = next((table for folder in folders if (table := _read_csv(folder / "dilution.csv")) is not None), None)
    if dilution is not None:
        parts.append("Noisy group labels (the label-noise study's dilution analysis, measured on the data without "
                     "distilling): " + dilution_sentence(dilution))
    return "\n\n".join(parts)


def html_page(markdown: str) -> str:
    """The Markdown page as one HTML file (figures by relative path, beside it)."""
    body = mistune.html(markdown)
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>The COBRA paper, reproduced with cobra-lab"
            f"</title><style>{STYLE}</style></head><body>{body}</body></html>")


def write_page(folders: list[Path], page: Path) -> Path:
    """Write index.md and index.html for the finished studies in ``folders`` to ``page`` (its figures/ and
    results/ made afresh); returns the HTML file."""
    for copied in ("figures", "results"):
        shutil.rmtree(page / copied, ignore_errors=True)
    page.mkdir(parents=True, exist_ok=True)
    records, sections, counts, finished = [], [], [], []
    for folder in folders:
        record = read_record(folder)
        if record is None:
            continue
        section, count = study_section(folder, record, page)
        finished.append(folder)
        records.append(record)
        sections.append(section)
        counts.append(count)
    table = overview(records, counts)
    atomic_write_bytes(page / "results" / "overview.csv", table.to_csv(index=False).encode())
    save_figure(verdicts_figure(table), page / VERDICTS_FIGURE)
    markdown = "\n\n".join([summary(records, table), findings(finished, records), *sections]) + "\n"
    atomic_write_text(page / "index.md", markdown)
    return atomic_write_text(page / "index.html", html_page(markdown))
