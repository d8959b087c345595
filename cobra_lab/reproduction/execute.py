"""``cobra-lab reproduce``: every run of the planned studies through the store (one sweep, shared runs once),
then each study's notebook on its stored runs, its record (parameters, command, times, ours beside the paper)
beside the notebook's results, then the page. A study whose record matches its plan is not executed again."""
from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .. import paper
from ..bench.results import machine
from ..environment import environment
from ..errors import UserError
from ..io import atomic_write_bytes, atomic_write_json
from ..notebook_run import execute_notebook, notebook_title
from ..paths import repo_root
from ..store import default_root, run_id
from ..sweep import run_grid
from .page import read_record, write_page
from .plan import StudyPlan, plan, stored_count, unique_configs

RECORD = "reproduction.json"
RECORD_FORMAT = 1  # a record of another format (or none) has its study's notebook executed again
RUNS = "reproduction_runs.csv"  # the study's rows of the reproduction's sweep, beside its record


def command(study: StudyPlan) -> str:
    """The command that makes one study's section, with its changed parameters."""
    number = study.name.split("_", 1)[0]
    changed = [shlex.quote(f"{number}.{key}={json.dumps(value, separators=(',', ':'))}")
               for key, value in study.overrides.items()]
    return " ".join([f"cobra-lab reproduce --profile {study.params['profile']} --studies {number}",
                     *(f"--param {text}" for text in changed)])


def notebook_path(name: str) -> Path:
    """notebooks/<name>.ipynb."""
    return repo_root() / "notebooks" / f"{name}.ipynb"


def _table_number(shows: str) -> int | None:
    """The paper table a study shows (None for a figure)."""
    kind, _, number = shows.partition(" ")
    return int(number) if kind == "Table" and number.isdigit() else None


def _paper_datasets(study: StudyPlan) -> list[str]:
    """The datasets the paper ran the study on."""
    value = study.paper.get("datasets", study.paper.get("dataset"))
    return value if isinstance(value, list) else [value]


def _recorded(study: StudyPlan) -> dict | None:
    """The study's record where its notebook already ran with exactly the planned parameters, else None."""
    record = read_record(Path(study.params["out_dir"]))
    matches = record and record.get("format") == RECORD_FORMAT and record.get("params") == study.params
    return record if matches else None


def dry_run_lines(plans: list[StudyPlan], root: Path) -> list[str]:
    """One line per study (its runs, how many are stored, whether its notebook ran) and a total line."""
    lines = []
    for study in plans:
        lines.append(f"{study.name} ({study.shows}): {len(study.configs)} runs, {stored_count(study.configs, root)} "
                     f"stored; notebook {'done' if _recorded(study) else 'to run'}")
    configs = unique_configs(plans)
    lines.append(f"total: {len(configs)} distinct runs ({sum(len(s.configs) for s in plans)} over the studies, a "
                 f"shared run made once), {stored_count(configs, root)} stored")
    return lines


def _record_study(study: StudyPlan, rows: pd.DataFrame, notebook_seconds: float) -> dict:
    """Write the study's rows of the sweep and its record (what the page reads); returns the record."""
    out = Path(study.params["out_dir"])
    atomic_write_bytes(out / RUNS, rows.to_csv(index=False).encode())
    runs_seconds = float(rows["seconds"].fillna(0).sum()) if len(rows) else 0.0
    table = _table_number(study.shows)
    record = {"format": RECORD_FORMAT, "study": study.name, "shows": study.shows,
              "title": notebook_title(notebook_path(study.name)), "table": table,
              "paper_datasets": _paper_datasets(study),
              "params": study.params, "paper": study.paper,
              "replaced": {key: list(pair) for key, pair in study.replaced().items()},
              "command": command(study),
              "runs": len(rows), "runs_seconds": runs_seconds, "notebook_seconds": notebook_seconds,
              "wall_seconds": runs_seconds + notebook_seconds,
              "source": paper.source(table) if table else study.shows,
              "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    atomic_write_json(out / RECORD, record)
    return record


def _run_notebook(study: StudyPlan) -> float:
    """Execute the study's notebook on its stored runs into its folder; returns the seconds it took."""
    out = Path(study.params["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    execute_notebook(notebook_path(study.name), out / f"{study.name}.ipynb", study.params, progress=False)
    return time.perf_counter() - started


def reproduce(profile: str = "cpu", studies: list[str] | None = None, out: str | Path | None = None,
              page: str | Path | None = None, workers: int = 1, backend: str = "local", address: str | None = None,
              overrides: dict | None = None, progress: bool = True) -> Path:
    """Run the reproduction of ``studies`` (None: all) at ``profile`` in the store ``out`` (None: the default
    store), each study's results under ``out``/reproduction/<profile>/<study>, and write the page to ``page``
    (default: ``out``/reproduction/<profile>/page); returns the page's HTML file."""
    root = (Path(out) if out is not None else default_root()).absolute()
    plans = plan(profile, studies, root / "reproduction", overrides)
    grids = [grid for study in plans for grid in study.grids]
    with environment({"COBRA_LAB_OUTPUTS": str(root)}):
        table = run_grid(grids, workers=workers, root=root, progress=progress, max_runs=None, backend=backend,
                         address=address) if grids else pd.DataFrame()
        by_id = table.set_index("run_id") if len(table) else table
        broken = []
        for study in tqdm(plans, desc="reproduce: studies", unit="study", disable=not progress):
            if _recorded(study):
                continue
            try:
                seconds = _run_notebook(study)
            except UserError as error:  # the other studies go on; a rerun tries this one again
                broken.append(str(error))
                continue
            ids = [run_id(config) for config in study.configs]
            _record_study(study, by_id.loc[ids].reset_index() if ids else pd.DataFrame(), seconds)
    failed = int((table["status"] == "failed").sum()) if len(table) else 0
    if failed:
        print(f"reproduce: {failed} runs failed; their cells are empty on the page", file=sys.stderr)
    written = write_page([Path(study.params["out_dir"]) for study in plans], Path(page) if page else
                         root / "reproduction" / profile / "page")
    if broken:
        raise UserError(f"{len(broken)} of {len(plans)} studies failed and are left off the page ({written}): "
                        + "; ".join(broken))
    return written
