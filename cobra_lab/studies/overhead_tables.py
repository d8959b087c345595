"""The paper's Tables 13 and 14 beside ours: COBRA's per-step time (mean and std) and peak memory against vanilla's,
over the number of groups (Table 13) and at each dataset's own number of groups (Table 14), and the sentences that
read them."""
from __future__ import annotations

import math

import pandas as pd

from ..paper import find, rows

GROUPS_COLUMNS = ["method", "groups", "mode", "ms", "ms_std", "slowdown", "mb", "mem_mult", "paper_ms",
                  "paper_ms_std", "paper_slowdown", "paper_mb", "paper_mem_mult"]
NATURAL_COLUMNS = ["dataset", "method", "groups", "vanilla_ms", "vanilla_ms_std", "cobra_ms", "cobra_ms_std",
                   "slowdown", "vanilla_mb", "cobra_mb", "mem_mult", "paper_vanilla_ms", "paper_vanilla_ms_std",
                   "paper_cobra_ms", "paper_cobra_ms_std", "paper_slowdown", "paper_vanilla_mb", "paper_cobra_mb",
                   "paper_mem_mult", "note"]
NAN = float("nan")


def memory_label(measurements: dict) -> str:
    """What the peak memory column measures on the device the measurements ran on."""
    if str(measurements["device"]).startswith("cuda"):
        return "peak GPU memory allocated (MB)"
    return "peak resident set of the process (MB; CPU, not the paper's GPU memory)"


def paper_ratios(method: str) -> pd.DataFrame:
    """The paper's Table 13 for ``method``: per G, COBRA's mean step time and peak memory over vanilla's (empty
    where the table has no such method)."""
    vanilla = find(13, method=method, mode="vanilla", groups=None)
    if vanilla is None:
        return pd.DataFrame(columns=["groups", "time_ratio", "memory_ratio"])
    cobra = [row for row in rows(13, method=method, mode="cobra") if "groups" in row]
    return pd.DataFrame({"groups": [row["groups"] for row in cobra],
                         "time_ratio": [row["ms"] / vanilla["ms"] for row in cobra],
                         "memory_ratio": [row["mb"] / vanilla["mb"] for row in cobra]})


def _paper_cells(row: dict | None, baseline: dict | None) -> list[float]:
    """A paper row's ms, ms std, slowdown, MB and memory multiple against ``baseline`` (NaN where absent)."""
    if row is None or baseline is None:
        return [NAN] * 5
    return [row["ms"], row["ms_std"], row["ms"] / baseline["ms"], row["mb"], row["mb"] / baseline["mb"]]


def groups_table(table: pd.DataFrame, implementation: str = "ours") -> pd.DataFrame:
    """Table 13's layout from ``overhead_table``'s rows of ``implementation``: per method, vanilla's row (groups
    NaN; measured at the smallest G) then COBRA's at each G, with its slowdown and memory multiple over vanilla's
    at the same G, and the paper's numbers beside (NaN where the paper reports none)."""
    out = []
    mine = table[table["implementation"] == implementation]
    for method in dict.fromkeys(mine["method"]):
        runs = mine[mine["method"] == method].set_index(["mode", "groups"])
        vanilla = runs.loc["vanilla"]
        paper_vanilla = find(13, method=method, mode="vanilla", groups=None)
        first = vanilla.loc[vanilla.index.min()]
        out.append([method, NAN, "vanilla", first["ms"], first["ms_std"], 1.0, first["peak_mb"], 1.0,
                    *_paper_cells(paper_vanilla, paper_vanilla)])
        for g in sorted(runs.loc["cobra"].index):
            cobra, base = runs.loc[("cobra", g)], vanilla.loc[g]
            out.append([method, g, "cobra", cobra["ms"], cobra["ms_std"], cobra["ms"] / base["ms"],
                        cobra["peak_mb"], cobra["peak_mb"] / base["peak_mb"],
                        *_paper_cells(find(13, method=method, mode="cobra", groups=g), paper_vanilla)])
    return pd.DataFrame(out, columns=GROUPS_COLUMNS)


def _compared(vanilla: tuple[float, float, float] | None, cobra: tuple[float, float, float] | None) -> list[float]:
    """Vanilla's and COBRA's (ms, ms std, MB) side by side with the slowdown and memory multiple (NaN where
    absent)."""
    if vanilla is None or cobra is None:
        return [NAN] * 8
    return [vanilla[0], vanilla[1], cobra[0], cobra[1], cobra[0] / vanilla[0], vanilla[2], cobra[2],
            cobra[2] / vanilla[2]]


def _ours(measurements: dict, method: str, mode: str) -> tuple[float, float, float]:
    """Our engine's (ms, ms std, MB; NaN where memory was not measured) for ``method`` and ``mode`` (the
    measurements hold one G)."""
    record = next(r for r in measurements["records"]
                  if (r["method"], r["mode"], r["implementation"]) == (method, mode, "ours"))
    peak = record["peak_total_mb"]
    return record["mean_seconds"] * 1e3, record["std_seconds"] * 1e3, NAN if peak is None else peak


def _paper(dataset: str, method: str, mode: str) -> tuple[float, float, float] | None:
    """The paper's Table 14 (ms, ms std, MB) for a dataset, method and mode; None where it reports none."""
    row = find(14, dataset=dataset, method=method, mode=mode)
    return None if row is None else (row["ms"], row["ms_std"], row["mb"])


def natural_groups_table(measured: dict[str, dict | str], methods: tuple[str, ...] = ("dc", "dm")) -> pd.DataFrame:
    """Table 14's layout: per dataset and method, vanilla's and COBRA's step time (ms, mean and std) and peak
    memory at the dataset's own number of groups, with the slowdown and memory multiple, the paper's beside, and
    for a dataset not measured here the reason (``note``)."""
    out = []
    for dataset, measurements in measured.items():
        for method in methods:
            paper = _compared(_paper(dataset, method, "vanilla"), _paper(dataset, method, "cobra"))
            if isinstance(measurements, str):
                reported = find(14, dataset=dataset, method=method, mode="cobra")
                out.append([dataset, method, reported["groups"] if reported else NAN, *[NAN] * 8, *paper,
                            measurements])
            else:
                groups = measurements["settings"]["groups"][0]
                out.append([dataset, method, groups, *_compared(_ours(measurements, method, "vanilla"),
                                                                _ours(measurements, method, "cobra")), *paper, ""])
    return pd.DataFrame(out, columns=NATURAL_COLUMNS)


def reading(groups: pd.DataFrame, natural: pd.DataFrame, dataset: str, memory: str) -> str:
    """Sentences computed from both tables: COBRA's cost at the largest G against the paper's, and which
    datasets Table 14 could measure here."""
    largest = groups["groups"].max()
    at = groups[groups["groups"] == largest]
    parts = []
    for row in at.itertuples():
        paper = (f" (the paper: {row.paper_slowdown:.2f}x and {row.paper_mem_mult:.2f}x)"
                 if not math.isnan(row.paper_slowdown) else " (the paper reports no such row)")
        parts.append(f"{row.method.upper()} {row.slowdown:.2f}x vanilla's time and {row.mem_mult:.2f}x its "
                     f"memory{paper}")
    first = (f"At G = {largest:g} on {dataset}, COBRA's step in cobra-lab's engine takes " + "; ".join(parts)
             + f". Memory is the {memory.split(' (')[0]}.")
    measured = sorted(set(natural.loc[natural["note"] == "", "dataset"]))
    absent = sorted(set(natural.loc[natural["note"] != "", "dataset"]))
    second = (f" Table 14 measured here: {', '.join(measured) or 'none'}"
              + (f"; not measured (files absent): {', '.join(absent)}." if absent else "."))
    return first + second


PAPER_SETTING = {"dataset": "cfmnist_bg", "groups": [2, 4, 6, 8, 10], "steps": 120, "warmup": 10}  # Tables 13-14


def differences(profile: str, dataset: str, groups: list[int], steps: int, warmup: int) -> str:
    """One sentence: where this run's setting differs from the paper's (its GPU, width 128, 256 real images
    per class, C-FMNIST (BG), G 2 to 10, 120 timed steps after 10 warm-up)."""
    ours = {"dataset": dataset, "groups": sorted(groups), "steps": steps, "warmup": warmup}
    if profile == "smoke":
        ours.update(steps=1, warmup=0)
    changed = [f"{key} {ours[key]} (paper: {wanted})" for key, wanted in PAPER_SETTING.items() if ours[key] != wanted]
    if profile != "paper":
        changed.append(f"the {profile} profile's net width and real images per class (paper: 128 and 256)")
    listed = "; ".join(changed) if changed else "nothing but the machine"
    return f"This run differs from the paper's setting (one NVIDIA H100 80 GB) in: {listed}."
