"""``cobra-lab reproduce``: the paper's studies at one profile on the offline datasets, and their page."""
from __future__ import annotations

import argparse
from pathlib import Path


def study_overrides(texts: list[str]) -> dict[str, dict]:
    """``--param STUDY.KEY=VALUE`` options (the study by number or name, the value as YAML) as overrides per
    study: {notebook name: {key: value}}."""
    from ..config import parse_override
    from ..errors import UserError
    from .plan import pick_studies

    overrides: dict[str, dict] = {}
    for text in texts:
        dotted, value = parse_override(text, "--param")
        study, _, key = dotted.partition(".")
        if not key:
            raise UserError(f"--param expects STUDY.KEY=VALUE (e.g. 02.skews=[0.6,0.8]), got {text!r}")
        overrides.setdefault(pick_studies([study])[0], {})[key] = value
    return overrides


def _reproduce(args: argparse.Namespace) -> int:
    """Run (or with --dry-run, count) the reproduction's runs, execute its notebooks, write its page."""
    from ..store import default_root  # deferred: the store imports torch
    from .execute import dry_run_lines, reproduce
    from .plan import plan

    root = (Path(args.out) if args.out else default_root()).absolute()
    overrides = study_overrides(args.param)
    if args.dry_run:
        print("\n".join(dry_run_lines(plan(args.profile, args.studies, root / "reproduction", overrides), root,
                                      seed_check=not args.no_seed_check)))
        return 0
    page = reproduce(args.profile, args.studies, root, args.page, args.workers, args.backend, args.address,
                     overrides, progress=not args.quiet, seed_check=not args.no_seed_check)
    print(f"wrote {page} and {page.with_suffix('.md')}")
    return 0


def add_reproduce_commands(commands: argparse._SubParsersAction) -> None:
    """``cobra-lab reproduce``: every study's paper setting through the store, then the page."""
    reproduce = commands.add_parser("reproduce", help="run the paper's studies at a profile and write their page")
    reproduce.add_argument("--profile", default="cpu", help="the profile every run uses (default cpu)")
    reproduce.add_argument("--studies", nargs="+", default=None, metavar="STUDY",
                           help="studies by number or notebook name, e.g. 01 02 13 (default: all)")
    reproduce.add_argument("--param", action="append", default=[], metavar="STUDY.KEY=VALUE",
                           help="change one parameter of one study, e.g. 02.skews=[0.6,0.8] (repeatable)")
    reproduce.add_argument("--dry-run", action="store_true",
                           help="print each study's runs and how many are stored, and the seed reruns known so far; "
                                "run nothing")
    reproduce.add_argument("--no-seed-check", action="store_true",
                           help="skip the seed check: rerunning each study with a failing claim at other seeds")
    reproduce.add_argument("--page", default=None,
                           help="folder of the page (default <out>/reproduction/<profile>/page)")
    reproduce.add_argument("--workers", type=int, default=1, help="runs at a time, each in its own process")
    reproduce.add_argument("--backend", choices=("local", "ray"), default="local",
                           help="local: a process pool on this machine; ray: tasks on a Ray cluster")
    reproduce.add_argument("--address", default=None, help="Ray cluster: auto or HOST:PORT (as cobra-lab sweep)")
    reproduce.add_argument("--out", default=None,
                           help="results folder (default $COBRA_LAB_OUTPUTS, else <repo>/outputs)")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    reproduce.set_defaults(handler=_reproduce)
