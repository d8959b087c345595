"""The seed check: a study with a claim that fails here runs again at each of ``CHECK_SEEDS`` (each seed alone, in
its own folder), and the page says of every failing claim at which seeds it fails."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .plan import StudyPlan, seed_key, study_plan

CHECK_SEEDS = (1, 2)  # the seeds a study with a failing claim is rerun at, besides its own
NO_VERDICT = "without a verdict"  # a rerun whose claims table lacks the claim


def own_seeds(params: dict) -> list[int] | None:
    """The seeds of a study's own run with notebook parameters ``params`` (None: the study takes no seed)."""
    key = seed_key(params)
    if key is None:
        return None
    return list(params[key]) if isinstance(params[key], list) else [params[key]]


def check_seeds(params: dict) -> list[int]:
    """The seeds a study with ``params`` is rerun at when a claim fails: ``CHECK_SEEDS`` but its own (none where
    the study takes no seed)."""
    own = own_seeds(params)
    return [] if own is None else [seed for seed in CHECK_SEEDS if seed not in own]


def seed_plans(study: StudyPlan) -> list[StudyPlan]:
    """The study rerun at each of its check seeds, everything else as planned."""
    return [study_plan(study.name, study.params["profile"], Path(study.params["out_dir"]), study.overrides, seed)
            for seed in check_seeds(study.params)]


def rerun_verdict(claims: pd.DataFrame | None, claim: str) -> str | None:
    """The verdict of ``claim`` (its words) in a rerun's claims table; None where the rerun has not run (yet)."""
    if claims is None:
        return None
    verdicts = claims.loc[claims["claim"] == claim, "verdict"]
    return verdicts.iloc[0] if len(verdicts) else NO_VERDICT


@dataclass(frozen=True)
class SeedVerdicts:
    """One claim that fails in a study's own run: that run's seeds (None: the study takes no seed) and the claim's
    verdict in each seed-check rerun (None: the rerun has not run yet)."""

    own: list[int] | None
    reruns: dict[int, str | None]

    def waiting(self) -> bool:
        """Whether a rerun of a seeded study has not run yet."""
        return self.own is not None and None in self.reruns.values()

    def every_seed(self) -> bool:
        """Whether the claim fails at every seed it is checked at: its study's own and each rerun's."""
        return self.own is not None and all(verdict == "fails" for verdict in self.reruns.values())


def _seeds(labels: list[str]) -> str:
    """Seed labels as words: 'seed 0', 'seeds 0 and 1', 'seeds 0, 1 and 2', 'seeds 0+1' (one run over both)."""
    listed = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    return f"seed{'s' if len(labels) > 1 or '+' in listed else ''} {listed}"


def seeds_sentence(verdicts: SeedVerdicts) -> str:
    """At which seeds a failing claim fails, e.g. 'fails at seeds 0, 1 and 2' or 'fails at seed 0; at seed 1 holds,
    at seed 2 within noise', naming the reruns that have not run yet (an own run over several seeds is '0+1')."""
    if verdicts.own is None:
        return "fails in the study's one run; the study takes no seed, so it is not rerun at others"
    by_verdict: dict[str | None, list[str]] = {"fails": ["+".join(map(str, verdicts.own))]}
    for seed, verdict in verdicts.reruns.items():
        by_verdict.setdefault(verdict, []).append(str(seed))
    waiting = by_verdict.pop(None, [])
    text = f"fails at {_seeds(by_verdict.pop('fails'))}"
    if by_verdict:
        text += "; " + ", ".join(f"at {_seeds(labels)} {verdict}" for verdict, labels in by_verdict.items())
    if waiting:
        text += (f"; the rerun{'s' if len(waiting) > 1 else ''} at {_seeds(waiting)} "
                 f"{'have' if len(waiting) > 1 else 'has'} not run yet")
    return text


def every_seed_sentence(failing: list[SeedVerdicts]) -> str:
    """How many of the failing claims fail at every seed, and how many wait for a rerun or cannot be rerun."""
    every = sum(verdicts.every_seed() for verdicts in failing)
    waiting = sum(verdicts.waiting() for verdicts in failing)
    unseeded = sum(verdicts.own is None for verdicts in failing)
    text = (f"{every} of the {len(failing)} failing claim{'s' if len(failing) > 1 else ''} "
            f"{'fails' if 1 in (every, len(failing)) else 'fail'} at every seed (each study's own and its reruns at "
            f"{_seeds([str(seed) for seed in CHECK_SEEDS])})")
    if waiting:
        text += f"; {waiting} {'waits' if waiting == 1 else 'wait'} for a rerun that has not run yet"
    if unseeded:
        text += f"; {unseeded} {'is' if unseeded == 1 else 'are'} of studies that take no seed and are not rerun"
    return text + "."
