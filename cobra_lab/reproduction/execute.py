"""``cobra-lab reproduce``: every run of the planned studies through the store (one sweep, shared runs once),
then each study's notebook on its stored runs, its record (parameters, command, times, ours beside the paper)
beside the notebook's results; then the seed check (each seeded study with a claim that fails here, again at more
seeds, each seed in its own folder with its own record), then the page. A study (or seed rerun) whose record
matches its plan is not executed again."""
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
from .plan import StudyPlan, plan, same_setting, stored_count, unique_configs
from .seeds import own_seeds, seed_plans

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
    matches = record and record.get("format") == RECORD_FORMAT and same_setting(record["params"], study.params)
    return record if matches else None


def _known_to_fail(study: StudyPlan) -> bool:
    """Whether the study's notebook ran with exactly the planned parameters and a claim of it fails."""
    claims = Path(study.params["out_dir"]) / "claims.csv"
    return bool(_recorded(study)) and claims.exists() and bool((pd.read_csv(claims)["verdict"] == "fails").any())


def _study_line(study: StudyPlan, root: Path) -> str:
    """A study's (or seed rerun's) runs, how many are stored, and whether its notebook ran."""
    label = study.name if study.seed is None else f"{study.name} at seed {study.seed}"
    return (f"{label} ({study.shows}): {len(study.configs)} runs, {stored_count(study.configs, root)} stored; "
            f"notebook {'done' if _recorded(study) else 'to run'}")


def _total_line(plans: list[StudyPlan], root: Path) -> str:
    """The distinct runs of ``plans`` and how many are stored."""
    configs = unique_configs(plans)
    return (f"total: {len(configs)} distinct runs ({sum(len(s.configs) for s in plans)} over the studies, a shared "
            f"run made once), {stored_count(configs, root)} stored")


def _seed_check_lines(plans: list[StudyPlan], root: Path) -> list[str]:
    """The seed reruns of the studies whose claims already fail here, and those that take no seed."""
    failing = [study for study in plans if _known_to_fail(study)]
    pending = sum(not _recorded(study) for study in plans)
    reruns = [rerun for study in failing for rerun in seed_plans(study)]
    lines = [f"seed check: {len(failing)} of the {len(plans)} studies {'has' if len(failing) == 1 else 'have'} a "
             f"claim that fails so far"
             + (f"; more may follow once the {pending} notebooks still to run have run" if pending else "")]
    lines += [f"{study.name} ({study.shows}): a claim fails, but the study takes no seed: not rerun"
              for study in failing if own_seeds(study.params) is None]
    return lines + ([_study_line(rerun, root) for rerun in reruns] + [_total_line(reruns, root)] if reruns else [])


def dry_run_lines(plans: list[StudyPlan], root: Path, seed_check: bool = True) -> list[str]:
    """One line per study (its runs, how many are stored, whether its notebook ran) and a total line; with
    ``seed_check``, then the seed reruns known so far."""
    lines = [*(_study_line(study, root) for study in plans), _total_line(plans, root)]
    return lines + (_seed_check_lines(plans, root) if seed_check else [])


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


def _run_studies(plans: list[StudyPlan], root: Path, workers: int, backend: str, address: str | None,
                 progress: bool, desc: str) -> tuple[pd.DataFrame, list[str]]:
    """Every run of ``plans`` as one sweep, then each plan's notebook not yet recorded, and its record; returns
    the sweep's rows and the errors of the notebooks that failed (the others go on; a rerun tries those again)."""
    grids = [grid for study in plans for grid in study.grids]
    table = run_grid(grids, workers=workers, root=root, progress=progress, max_runs=None, backend=backend,
                     address=address) if grids else pd.DataFrame()
    by_id = table.set_index("run_id") if len(table) else table
    broken = []
    for study in tqdm(plans, desc=desc, unit="study", disable=not progress or not plans):
        if _recorded(study):
            continue
        try:
            seconds = _run_notebook(study)
        except UserError as error:
            broken.append(str(error))
            continue
        ids = [run_id(config) for config in study.configs]
        _record_study(study, by_id.loc[ids].reset_index() if ids else pd.DataFrame(), seconds)
    return table, broken


def reproduce(profile: str = "cpu", studies: list[str] | None = None, out: str | Path | None = None,
              page: str | Path | None = None, workers: int = 1, backend: str = "local", address: str | None = None,
              overrides: dict | None = None, progress: bool = True, seed_check: bool = True) -> Path:
    """Run the reproduction of ``studies`` (None: all) at ``profile`` in the store ``out`` (None: the default
    store), each study's results under ``out``/reproduction/<profile>/<study>, and write the page to ``page``
    (default: ``out``/reproduction/<profile>/page); returns the page's HTML file. With ``seed_check``, every
    seeded study with a claim that fails is then rerun at each of ``CHECK_SEEDS`` (seeds.py): the reruns' runs
    as one more sweep, each rerun's notebook into <study>/seed<k>."""
    root = (Path(out) if out is not None else default_root()).absolute()
    plans = plan(profile, studies, root / "reproduction", overrides)
    options = dict(root=root, workers=workers, backend=backend, address=address, progress=progress)
    with environment({"COBRA_LAB_OUTPUTS": str(root)}):
        table, broken = _run_studies(plans, desc="reproduce: studies", **options)
        reruns = [rerun for study in plans if seed_check and _known_to_fail(study) for rerun in seed_plans(study)]
        rerun_table, rerun_broken = _run_studies(reruns, desc="reproduce: seed check", **options)
    failed = sum(int((rows["status"] == "failed").sum()) for rows in (table, rerun_table) if len(rows))
    if failed:
        print(f"reproduce: {failed} runs failed; their cells are empty on the page", file=sys.stderr)
    written = write_page([Path(study.params["out_dir"]) for study in plans], Path(page) if page else
                         root / "reproduction" / profile / "page")
    if broken or rerun_broken:
        counts = [*([f"{len(broken)} of {len(plans)} studies failed and are left off the page"] if broken else []),
                  *([f"{len(rerun_broken)} of {len(reruns)} seed reruns failed and the page says they have not run"]
                    if rerun_broken else [])]
        raise UserError(f"{', '.join(counts)} ({written}): " + "; ".join(broken + rerun_broken))
    return written
