"""Table 1's cells at an IPC the reproduction does not run at its profile, as the profile's calibration measured
them (``benchmarks/calibrate_cpu.py --ipc N``, its results files): for the page."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..config import resolve
from ..paths import repo_root
from ..studies.calibration import ACC_MARGIN, EOD_FACTOR, JUDGED_MODES, near_paper

CALIBRATIONS = repo_root() / "benchmarks" / "results"
PATTERN = "calibrate_cpu-*.json"


def calibrated_cells(profile: str, above_ipc: int, folder: Path = CALIBRATIONS) -> tuple[pd.DataFrame, list[str]]:
    """FairDD's and COBRA's rows of every calibration at ``profile`` and an IPC above ``above_ipc``, at the budget
    the profile runs (so the profile's own runs), with whether each lands near Table 1; and the commands that
    measured them."""
    rows, commands = [], []
    for path in sorted(folder.glob(PATTERN)):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("profile") != profile or record.get("ipc", 0) <= above_ipc or record.get("overrides"):
            continue
        table = pd.DataFrame(record["rows"])
        table = table.assign(near=near_paper(table, record["time_limit_seconds"]))
        budget = resolve(record["dataset"], record["method"], JUDGED_MODES[0], record["ipc"],
                         profile=profile)["distill"]["iterations"]
        picked = table[table["mode"].isin(JUDGED_MODES) & (table["budget"] == budget)]
        if picked.empty:
            continue
        rows.append(picked.assign(dataset=record["dataset"], ipc=record["ipc"],
                                  minutes=(picked["distill_seconds"] + picked["eval_seconds"]) / 60,
                                  limit_minutes=record["time_limit_seconds"] / 60))
        commands.append(f"python benchmarks/calibrate_cpu.py --method {record['method']} --ipc {record['ipc']} "
                        f"--budgets {budget} --modes {' '.join(JUDGED_MODES)} --profile {profile} "
                        f"--time-limit {record['time_limit_seconds']:.0f}")
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), commands


def calibrated_sentence(cells: pd.DataFrame) -> str:
    """How many of the calibrated cells land near Table 1, and which do not."""
    far, near = cells[~cells["near"]], int(cells["near"].sum())
    text = (f"{near} of these {len(cells)} cells {'lands' if near == 1 else 'land'} near Table 1 (EOD_max at most "
            f"{EOD_FACTOR:g}x the paper's, accuracy at most {ACC_MARGIN:g} points below it, one run within "
            f"{cells['limit_minutes'].max():.0f} minutes on this machine)")
    if far.empty:
        return text + "."
    return text + "; not near: " + ", ".join(f"{row.method.upper()} {row.mode} at IPC {row.ipc}"
                                             for row in far.itertuples()) + "."


def calibrated_part(record: dict, folder: Path = CALIBRATIONS) -> tuple[list[str], pd.DataFrame, str] | None:
    """Table 1's part on the calibrated larger IPCs: its heading and sentence, its table and the commands that
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
        "budget": cells["budget"], "EOD ours": cells["eod_max"].round(1), "EOD paper": cells["paper_eod_max"],
        "Acc ours": cells["acc"].round(1), "Acc paper": cells["paper_acc"], "minutes": cells["minutes"].round(1),
        "near": cells["near"].map({True: "yes", False: "no"})})
    ipcs = ", ".join(map(str, sorted(set(cells["ipc"]))))
    text = [f"### Table 1 at IPC {ipcs}, from the profile's calibration",
            f"One run at IPC {ipcs} of every backbone does not fit the reproduction's time here, so these cells come "
            f"from the calibration of the profile's settings for IPC {ipcs}, each run on its own: "
            + calibrated_sentence(cells)]
    return text, table, "Measured by " + "; ".join(f"`{command}`" for command in commands) + "."
