"""One grid builder per study notebook, registered under the notebook's name: parameters -> grids of runs."""
from __future__ import annotations

from ..errors import UserError
from ..registry import Registry

STUDIES: Registry[list[dict]] = Registry("study")


def base_grid(profile: str, datasets: list[str], methods: list[str], modes: list[str], ipc: list[int] | int,
              seeds: list[int] | int, runs: int | None = None, full: bool = False) -> dict:
    """The grid entries every study shares."""
    return {"profile": profile, "datasets": datasets, "methods": methods, "modes": modes, "ipc": ipc,
            "seeds": seeds, "runs": runs, "full": full}


@STUDIES.register("00_quickstart")
def quickstart(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int,
               skew: float | None = None, gap: int = 0) -> list[dict]:
    """Vanilla, FairDD and COBRA on one dataset: the central effect."""
    return [{**base_grid(profile, [dataset], [method], modes, ipc, seed), "data": {"skew": skew, "gap": gap}}]


@STUDIES.register("01_main_table")
def main_table(profile: str, datasets: list[str], methods: list[str], modes: list[str], ipc: list[int],
               seeds: list[int], runs: int | None = None, full: bool = True) -> list[dict]:
    """Table 1: datasets x IPC x methods x modes, and FULL."""
    return [base_grid(profile, datasets, methods, modes, ipc, seeds, runs, full)]


@STUDIES.register("02_skew_gap")
def skew_gap(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
             skews: list[float], fixed_gap: int, gaps: list[int], fixed_skew: float, runs: int | None = None,
             full: bool = True) -> list[dict]:
    """Table 2 / Figure 2: a SKEW sweep at a fixed GAP, and a GAP sweep at a fixed SKEW."""
    base = base_grid(profile, [dataset], methods, modes, ipc, seeds, runs, full)
    return [{**base, "data": {"skew": skews, "gap": fixed_gap}}, {**base, "data": {"skew": fixed_skew, "gap": gaps}}]


@STUDIES.register("03_semantic_gap")
def semantic_gap(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seeds: list[int],
                 gammas: list[float], runs: int | None = None, full: bool = True) -> list[dict]:
    """Table 19: a constant colour offset gamma on the minority images, FULL beside."""
    return [{**base_grid(profile, [dataset], methods, modes, ipc, seeds, runs, full),
             "data": {"semantic_gap": gammas}}]


@STUDIES.register("04_label_noise")
def label_noise(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int],
                rhos: list[float], clean_modes: list[str], noisy_modes: list[str], runs: int | None = None
                ) -> list[dict]:
    """Table 15: clean-label baselines, then the fair modes with a fraction rho of group labels wrong."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"group_noise": 0.0}},
            {**base_grid(profile, datasets, methods, noisy_modes, ipc, seeds, runs), "data": {"group_noise": rhos}}]


@STUDIES.register("05_partial_labels")
def partial_labels(profile: str, datasets: list[str], methods: list[str], ipc: int, seeds: list[int],
                   etas: list[float], clean_modes: list[str], partial_modes: list[str], runs: int | None = None
                   ) -> list[dict]:
    """Table 16: clean-label baselines, then the fair modes with only a fraction eta of group labels known."""
    return [{**base_grid(profile, datasets, methods, clean_modes, ipc, seeds, runs), "data": {"known_groups": 1.0}},
            {**base_grid(profile, datasets, methods, partial_modes, ipc, seeds, runs),
             "data": {"known_groups": etas}}]


@STUDIES.register("06_tsne")
def tsne(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Figure 3: one distilled set per mode, whose evaluation net is embedded."""
    return [base_grid(profile, [dataset], [method], modes, ipc, seed)]


@STUDIES.register("07_image_grids")
def image_grids(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Figure 4: the distilled sets to show side by side."""
    return [base_grid(profile, [dataset], [method], modes, ipc, seed)]


@STUDIES.register("09_discrepancy")
def discrepancy(profile: str, dataset: str, methods: list[str], ipc: int, seeds: list[int],
                discrepancies: list[str], vanilla: bool = True, runs: int | None = None) -> list[dict]:
    """Table 4: COBRA with each barycenter discrepancy, vanilla beside as the reference."""
    grids = [{**base_grid(profile, [dataset], methods, ["cobra"], ipc, seeds, runs),
              "set": {"distill.discrepancy": discrepancies}}]
    return ([base_grid(profile, [dataset], methods, ["vanilla"], ipc, seeds, runs)] if vanilla else []) + grids


@STUDIES.register("10_cross_arch")
def cross_arch(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seeds: list[int],
               archs: list[str], runs: int | None = None) -> list[dict]:
    """Table 3: one ConvNet-distilled set per mode, evaluated by nets of each architecture trained from scratch."""
    return [{**base_grid(profile, [dataset], [method], modes, ipc, seeds, runs), "set": {"eval.arch": archs}}]


@STUDIES.register("11_low_ipc")
def low_ipc(profile: str, dataset: str, methods: list[str], modes: list[str], ipcs: list[int], seeds: list[int],
            runs: int | None = None) -> list[dict]:
    """Table 10: IPC 1, 3 and 5 for DC and DM."""
    return [base_grid(profile, [dataset], methods, modes, ipcs, seeds, runs)]


@STUDIES.register("08_residuals")
def residuals(profile: str, dataset: str, methods: list[str], modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Table 5: the distilled sets whose trained nets give the group statistics."""
    return [base_grid(profile, [dataset], methods, modes, ipc, seed)]


@STUDIES.register("12_interventions")
def interventions(profile: str, dataset: str, methods: list[str], ipc: int, seeds: list[int],
                  compared: list[str], extractor_epochs: int = 1, runs: int | None = None) -> list[dict]:
    """Table 18: vanilla, RF, DF, MF and COBRA, one grid entry each."""
    from .interventions import INTERVENTIONS

    grids = []
    for name in compared:
        if name not in INTERVENTIONS:
            raise UserError(f"unknown intervention {name!r}; known: {', '.join(INTERVENTIONS)}")
        _, mode, overrides = INTERVENTIONS[name]
        if name == "RF":
            overrides = {**overrides, "distill.extractor_epochs": extractor_epochs}
        grids.append({**base_grid(profile, [dataset], methods, [mode], ipc, seeds, runs), "set": overrides})
    return grids
