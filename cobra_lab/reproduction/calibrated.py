"""Table 1's cells at an IPC the reproduction does not run at its profile, as the profile's calibration measured
them (``benchmarks/calibrate_cpu.py --ipc N``, its results files): for the page."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .. import paper
from ..config import resolve
from ..paths import repo_root
from ..studies.calibration import ACC_MARGIN, EOD_FACTOR, JUDGED_MODES, PAPER_TABLE, near_paper

CALIBRATIONS = repo_root() / "benchmarks" / "results"
PATTERN = "calibrate_cpu-*.json"


def calibrated_cells(profile: str, above_ipc: int, folder: Path = CALIBRATIONS) -> tuple[pd.DataFrame, list[str]]:
    """FairDD's and COBRA's rows of every calibration at ``profile`` and an IPC above ``above_ipc``: at the budget
    the profile runs (so the profile's own runs) where measured, else at the largest budget measured, with whether
    each lands near Table 1 (a mode not measured: a row without numbers); and the commands that measured them."""
    rows, commands = [], []
    for path in sorted(folder.glob(PATTERN)):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("profile") != profile or record.get("ipc", 0) <= above_ipc or record.get("overrides"):
            continue
        table = pd.DataFrame(record["rows"])
        table = table.assign(near=near_paper(table, record["time_limit_seconds"]))
        judged = table[table["mode"].isin(JUDGED_MODES)]
        if judged.empty:
            continue
        runs = resolve(record["dataset"], record["method"], JUDGED_MODES[0], record["ipc"],
                       profile=profile)["distill"]["iterations"]
        budget = runs if (judged["budget"] == runs).any() else int(judged["budget"].max())
        picked = judged[judged["budget"] == budget].set_index("mode").reindex(list(JUDGED_MODES)).reset_index()
        reported = [paper.cell(PAPER_TABLE, dataset=record["dataset"], ipc=record["ipc"], method=record["method"],
                               mode=mode) or (math.nan, math.nan) for mode in JUDGED_MODES]
        rows.append(picked.assign(method=record["method"], budget=budget, profile_budget=runs,
                                  dataset=record["dataset"], ipc=record["ipc"], measured=picked["acc"].notna(),
                                  near=picked["near"].eq(True), paper_eod_max=[cell[0] for cell in reported],
                                  paper_acc=[cell[1] for cell in reported],
                                  minutes=(picked["distill_seconds"] + picked["eval_seconds"]) / 60,
                                  limit_minutes=record["time_limit_seconds"] / 60))
        commands.append(f"python benchmarks/calibrate_cpu.py --method {record['method']} --ipc {record['ipc']} "
                        f"--budgets {' '.join(map(str, sorted(set(table['budget']))))} "
                        f"--modes {' '.join(dict.fromkeys(table['mode']))} --profile {profile} "
                        f"--time-limit {record['time_limit_seconds']:.0f}")
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), commands


def calibrated_sentence(cells: pd.DataFrame) -> str:
    """How many of the calibrated cells land near Table 1, which do not, which were measured short of the
    profile's budget and which not at all."""
    measured = cells[cells["measured"]]
    near = int(measured["near"].sum())
    text = (f"{near} of these {len(cells)} cells {'lands' if near == 1 else 'land'} near Table 1 (EOD_max at most "
            f"{EOD_FACTOR:g}x the paper's, accuracy at most {ACC_MARGIN:g} points below it, one run within "
            f"{cells['limit_minutes'].max():.0f} minutes on this machine)")
    notes = [("not near: ", measured[~measured["near"]]),
             ("not measured: ", cells[~cells["measured"]])]
    for label, rows in notes:
        if len(rows):
            text += "; " + label + ", ".join(f"{row.method.upper()} {row.mode} at IPC {row.ipc}"
                                             for row in rows.itertuples())
    short = measured[measured["budget"] < measured["profile_budget"]].drop_duplicates(["method", "ipc"])
    for row in short.itertuples():
        text += (f"; {row.method.upper()} at IPC {row.ipc} was measured at {row.budget} of the profile's "
                 f"{row.profile_budget} iterations")
    return text + "."


def calibrated_part(record: dict, folder: Path = CALIBRATIONS) -> tuple[list[str], pd.DataFrame, str] | None:
    """Table 1's part on the calibrated larger IPCs: its heading and sentence, its table (numbers; NaN where not
    measured) and the commands that
    measured it; None for another study or where no calibration above the study's IPCs was measured at its
    profile."""
    if record["table"] != 1:
        return None
    ran = record["params"]["ipc"]
    cells, commands = calibrated_cells(record["params"]["profile"], max(ran if isinstance(ran, list) else [ran]),
                                       folder)
    if cells.empty:
        return None
    table = pd.DataFrame({
        "dataset": cells["dataset"], "IPC": cells["ipc"], "method": cells["method"].str.upper(), "mode": cells["mode"],
        "budget": cells["budget"], "EOD ours": cells["eod_max"], "EOD paper": cells["paper_eod_max"],
        "Acc ours": cells["acc"], "Acc paper": cells["paper_acc"], "minutes": cells["minutes"],
        "near": [("yes" if near else "no") if measured else "not measured"
                 for near, measured in zip(cells["near"], cells["measured"])]})
    ipcs = ", ".join(map(str, sorted(set(cells["ipc"]))))
    text = [f"### Table 1 at IPC {ipcs}, from the profile's calibration",
            f"One run at IPC {ipcs} of every backbone does not fit the reproduction's time here, so these cells come "
            f"from the calibration of the profile's settings for IPC {ipcs}, each run on its own: "
            + calibrated_sentence(cells)]
    return text, table, "Measured by " + "; ".join(f"`{command}`" for command in commands) + "."
