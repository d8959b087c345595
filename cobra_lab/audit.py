"""A fairness audit of stored runs (notebook 15, ``cobra-lab report``): each run's evaluation card, its metrics with
95 % intervals (over evaluation nets, and by bootstrap over test images from the stored predictions), per-group
accuracy, per-class FPR gaps, and the change against the selection baselines at the same IPC."""
from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from scipy import stats

from .config import resolve
from .data.types import GroupedData
from .errors import UserError
from .fairness import fairness_metrics, gaps, rate_table
from .integrity import DamagedFile
from .methods.selection import selection_methods
from .runner import run_one
from .store import RunDir, default_root
from .synset import SynSet

INTERVAL_KEYS = ("acc", "eod_max", "eod_mean", "fpr_gap_max", "worst_group_acc")
METRIC_NAMES = {"acc": "accuracy", "eod_max": "EOD_max", "eod_mean": "EOD_mean", "fpr_gap_max": "FPR gap max",
                "worst_group_acc": "worst-group accuracy"}
BOOTSTRAP_DRAWS = 200


@dataclass
class AuditRun:
    """One finished run as the audit reads it: its folder, metrics and test predictions (None when it was stored
    before predictions were kept)."""

    run: RunDir
    metrics: dict
    predictions: dict | None
    suffix: str = ""  # told apart from another audited run of the same label (``load_audits``)

    @property
    def config(self) -> dict:
        return self.run.config

    @property
    def run_id(self) -> str:
        return self.run.path.name

    @property
    def label(self) -> str:
        """What the run is, in a few words: method, mode, IPC."""
        config = self.config
        parts = [config["method"], config["mode"], f"IPC {config['ipc']}" if config["ipc"] else None, self.suffix]
        return " ".join(str(part) for part in parts if part)

    @property
    def recompute_command(self) -> str:
        """The command that evaluates this run again with predictions kept (after moving its folder aside)."""
        config = self.config
        return (f"mv {self.run.path} {self.run.path}.old && cobra-lab run --dataset {config['dataset']} "
                f"--method {config['method']}" + (f" --mode {config['mode']}" if config["mode"] else "")
                + (f" --ipc {config['ipc']}" if config["ipc"] else "")
                + f" --profile {config['profile']} --seed {config['seed']} --out {self.run.root}")


def load_audit(run_id: str, root: str | Path | None = None) -> AuditRun:
    """The finished run ``run_id`` of the store ``root`` (None: the default store); a one-line UserError for an
    id that names no finished run there."""
    root = Path(root or default_root())
    folder = root / "runs" / str(run_id)
    if Path(str(run_id)).name != str(run_id) or not (folder / "config.yaml").is_file():
        raise UserError(f"no run {run_id!r} in {root / 'runs'} (cobra-lab run prints the id of each run)")
    try:
        run = RunDir.open(folder)
        metrics = run.stored_result()
        if metrics is None:
            raise UserError(f"run {run_id} is not finished (or a file of it is damaged); run it again")
        return AuditRun(run, metrics, run.stored_predictions())
    except (DamagedFile, ValueError) as error:
        raise UserError(f"run {run_id} cannot be read: {error}") from None


def load_audits(run_ids: list[str], results: str | Path | None = None) -> list[AuditRun]:
    """``load_audit`` of every id, runs sharing a label told apart by their config hash."""
    audits = [load_audit(run_id, results) for run_id in run_ids]
    labels = [audit.label for audit in audits]
    for audit in audits:
        if labels.count(audit.label) > 1:
            audit.suffix = f"[{audit.run_id.rsplit('-', 1)[-1]}]"
    return audits


def evaluation_card(audit: AuditRun) -> pd.Series:
    """The protocol behind the run's numbers, indexed by (part, setting): its id, data, distillation and
    evaluation."""
    config, data, evaluation = audit.config, audit.config["data"], audit.config["eval"]
    distill = config.get("distill")  # the selection baselines and FULL have no distill section
    test_images = audit.predictions["y"].numel() if audit.predictions is not None else "not stored"
    rows = {("run", "id"): audit.run_id, ("data", "dataset"): config["dataset"], ("data", "SKEW"): data["skew"],
            ("data", "GAP"): data["gap"],
            ("data", "groups"): len(audit.metrics["tpr"][0]), ("data", "test images"): test_images,
            ("distillation", "method"): config["method"], ("distillation", "mode"): config["mode"] or "none",
            ("distillation", "IPC"): config["ipc"] or "all images",
            ("distillation", "iterations"): distill["iterations"] if distill else "none",
            ("distillation", "profile"): config["profile"], ("distillation", "seed"): config["seed"],
            ("evaluation", "architecture"): evaluation["arch"] or config["net"]["arch"],
            ("evaluation", "nets"): evaluation["runs"], ("evaluation", "epochs"): evaluation["epochs"],
            ("evaluation", "DSA"): evaluation["dsa"], ("evaluation", "numbers of"): "the last epoch"}
    return pd.Series({key: str(value) for key, value in rows.items()}, name=audit.label)


def evaluation_cards(audits: list[AuditRun]) -> pd.DataFrame:
    """The evaluation cards of the runs side by side, one column per run."""
    return pd.concat([evaluation_card(audit) for audit in audits], axis=1)


def missing_predictions(audits: list[AuditRun]) -> list[str]:
    """A line for each run stored before test predictions were kept, with the command that recomputes it."""
    return [f"{audit.run_id} holds no test predictions (stored before they were kept): its intervals over test "
            f"images, worst-group accuracy, gaps and calibration error are left out; recompute it with "
            f"`{audit.recompute_command}`"
            for audit in audits if audit.predictions is None]


def group_accuracy(pred: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_groups: int) -> torch.Tensor:
    """Accuracy in percent of each group [G] (NaN for a group with no test image)."""
    hits = torch.zeros(num_groups, dtype=torch.float64).index_add_(0, a, (pred == y).to(torch.float64))
    totals = torch.bincount(a, minlength=num_groups).to(torch.float64)
    return torch.where(totals > 0, 100.0 * hits / totals.clamp_min(1), torch.full_like(totals, float("nan")))


def net_metrics(pred: torch.Tensor, y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int) -> dict:
    """The audited metrics of one net's predictions pred [N] (percent)."""
    metrics = fairness_metrics(pred, y, a, num_classes, num_groups)
    metrics["worst_group_acc"] = float(group_accuracy(pred, y, a, num_groups).nan_to_num(nan=float("inf")).min())
    return {key: metrics[key] for key in INTERVAL_KEYS}


def shape_of(audit: AuditRun) -> tuple[int, int]:
    """Classes and groups of the run's evaluation (its TPR table is [C, G])."""
    tpr = audit.metrics["tpr"]
    return len(tpr), len(tpr[0])


def prediction_tensors(record: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The stored predictions [R, N], labels [N] and groups [N] of a prediction record, as int64."""
    return record["predicted"].long(), record["y"].long(), record["a"].long()  # [R, N], [N], [N]


def net_interval(values: list[float]) -> tuple[float, float]:
    """The 95 % Student-t interval of the mean of ``values`` (one per evaluation net); NaNs for one net."""
    if len(values) < 2:
        return float("nan"), float("nan")
    mean, half = statistics.fmean(values), stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values)
    half /= len(values) ** 0.5
    return mean - half, mean + half


def resamples(y: torch.Tensor, a: torch.Tensor, num_classes: int, num_groups: int, draws: int,
              seed: int) -> Iterator[torch.Tensor]:
    """``draws`` resamples of the test images (indices [N] each), each (class, group) cell resampled within itself
    so the test split keeps its design; seeded."""
    cell = y * num_groups + a  # [N]
    order = torch.argsort(cell, stable=True)
    sizes = torch.bincount(cell, minlength=num_classes * num_groups)
    starts = torch.cumsum(sizes, 0) - sizes
    sorted_cell = cell[order]  # [N]
    generator = torch.Generator().manual_seed(seed)
    for _ in range(draws):
        offset = (torch.rand(len(y), generator=generator, dtype=torch.float64) * sizes[sorted_cell]).long()
        yield order[starts[sorted_cell] + offset]  # [N] a resample, cell by cell


def percentile_interval(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2.5 and 97.5 percentiles of ``values`` [D, ...] over its first dimension (the bootstrap draws)."""
    return values.quantile(0.025, dim=0), values.quantile(0.975, dim=0)


def bootstrap_interval(record: dict, num_classes: int, num_groups: int, draws: int = BOOTSTRAP_DRAWS,
                       seed: int = 0) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of each metric (mean over the nets) over ``draws`` resamples of the test images
    (``resamples``)."""
    predicted, y, a = prediction_tensors(record)
    values: dict[str, list[float]] = {key: [] for key in INTERVAL_KEYS}
    for pick in resamples(y, a, num_classes, num_groups, draws, seed):
        per_net = [net_metrics(pred[pick], y[pick], a[pick], num_classes, num_groups) for pred in predicted]
        for key in INTERVAL_KEYS:
            values[key].append(statistics.fmean(net[key] for net in per_net))
    return {key: tuple(float(bound) for bound in percentile_interval(torch.tensor(v))) for key, v in values.items()}


def metric_summary(audits: list[AuditRun]) -> pd.DataFrame:
    """One row per (run, metric): the mean over nets and its two 95 % intervals, over nets ("nets_low",
    "nets_high", cut to 0-100; NaN for one net) and by bootstrap over test images ("boot_low", "boot_high"; NaN
    without stored predictions)."""
    rows = []
    for audit in audits:
        per_net, boot = audit.metrics["per_run"], {}
        if audit.predictions is not None:
            num_classes, num_groups = shape_of(audit)
            predicted, y, a = prediction_tensors(audit.predictions)
            per_net = [net_metrics(pred, y, a, num_classes, num_groups) for pred in predicted]
            boot = bootstrap_interval(audit.predictions, num_classes, num_groups, seed=audit.config["seed"])
        for key in INTERVAL_KEYS:
            if key not in per_net[0]:
                continue  # worst-group accuracy needs the stored predictions
            values = [net[key] for net in per_net]
            low, high = (min(max(bound, 0.0), 100.0) for bound in net_interval(values))  # percentages
            boot_low, boot_high = boot.get(key, (float("nan"), float("nan")))
            rows.append({"run": audit.label, "metric": METRIC_NAMES[key], "mean": statistics.fmean(values),
                         "nets_low": low, "nets_high": high, "boot_low": boot_low, "boot_high": boot_high})
    return pd.DataFrame(rows)


def tpr_table(audit: AuditRun) -> torch.Tensor:
    """Mean TPR in percent per (class, group) over the nets [C, G] (NaN: no test image in the cell)."""
    return torch.tensor(audit.metrics["tpr"], dtype=torch.float64)


def fpr_gaps(audit: AuditRun) -> torch.Tensor | None:
    """Per-class FPR gap in percent [C], the mean over nets (None without stored predictions)."""
    if audit.predictions is None:
        return None
    num_classes, num_groups = shape_of(audit)
    predicted, y, a = prediction_tensors(audit.predictions)
    return torch.stack([100.0 * gaps(rate_table(pred, y, a, num_classes, num_groups, positives=False))
                        for pred in predicted]).mean(0)


def group_accuracies(audit: AuditRun) -> torch.Tensor | None:
    """Accuracy in percent per group [G], the mean over nets (None without stored predictions)."""
    if audit.predictions is None:
        return None
    _, num_groups = shape_of(audit)
    predicted, y, a = prediction_tensors(audit.predictions)
    return torch.stack([group_accuracy(pred, y, a, num_groups) for pred in predicted]).mean(0)


def baseline_configs(audit: AuditRun) -> dict[str, dict]:
    """The resolved configs of the selection baselines at the run's dataset, data, IPC, profile and seed (none
    for a run that is itself a baseline or has no IPC)."""
    config = audit.config
    if config["ipc"] is None or config["method"] in selection_methods():
        return {}
    return {name: resolve(config["dataset"], name, None, config["ipc"], profile=config["profile"],
                          seed=config["seed"], data=config["data"]) for name in selection_methods()}


def baseline_command(config: dict, root: Path) -> str:
    """The command that computes the baseline run ``config`` into the store ``root``."""
    return (f"cobra-lab run --dataset {config['dataset']} --method {config['method']} --ipc {config['ipc']} "
            f"--profile {config['profile']} --seed {config['seed']} --out {root}")


def improvement_over_random(audits: list[AuditRun]) -> pd.DataFrame:
    """Per run and selection baseline at the same IPC: accuracy and EOD of the run minus the baseline's (a
    positive accuracy change and a negative EOD change favour the run), or the command that computes a baseline
    missing from the store."""
    rows = []
    for audit in audits:
        for name, config in baseline_configs(audit).items():
            stored = RunDir(config, audit.run.root).stored_result()
            row = {"run": audit.label, "baseline": name}
            if stored is None:
                row["missing: compute it with"] = baseline_command(config, audit.run.root)
            else:
                row.update({f"{METRIC_NAMES[key]} change": audit.metrics[key] - stored[key]
                            for key in ("acc", "eod_max", "eod_mean")})
                row["baseline run"] = stored["run_id"]
            rows.append(row)
    return pd.DataFrame(rows)


def example_runs(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int,
                 results: str | Path | None = None, progress: bool = True) -> list[str]:
    """The ids of ``method``'s runs in ``modes`` and of the selection baselines at ``ipc``, computed (or read
    back) into the store ``results``: what the report shows when it is given no run ids."""
    configs = [resolve(dataset, method, mode, ipc, profile=profile, seed=seed) for mode in modes]
    configs += [resolve(dataset, name, None, ipc, profile=profile, seed=seed) for name in selection_methods()]
    return [run_one(config, root=results, progress=progress)["run_id"] for config in configs]


def run_baselines(audits: list[AuditRun], progress: bool = True) -> None:
    """Compute the selection baselines of ``audits`` missing from their store (``cobra-lab report --baselines``)."""
    for audit in audits:
        for config in baseline_configs(audit).values():
            run_one(config, root=audit.run.root, progress=progress)


def distilled_images(audits: list[AuditRun], data: GroupedData) -> tuple[dict[str, torch.Tensor],
                                                                        dict[str, torch.Tensor]]:
    """The stored set of each run that has one (FULL has none), by run label: images [N, 3, H, W] in [0, 1] and
    labels [N]."""
    images, labels = {}, {}
    for audit in audits:
        if audit.config["ipc"] is None:
            continue
        synset = SynSet.from_state(audit.run.load_synset())
        images[audit.label] = data.denormalize(synset.x).expand(-1, 3, -1, -1)
        labels[audit.label] = synset.y
    return images, labels


def summary_sentence(summary: pd.DataFrame) -> str:
    """One sentence read off ``metric_summary``: the fairest run by EOD_mean and the most accurate one."""
    eod = summary[summary["metric"] == METRIC_NAMES["eod_mean"]].set_index("run")["mean"]
    acc = summary[summary["metric"] == METRIC_NAMES["acc"]].set_index("run")["mean"]
    return (f"Lowest EOD_mean: {eod.idxmin()} ({eod.min():.1f} %, against {eod.max():.1f} % for {eod.idxmax()}); "
            f"highest accuracy: {acc.idxmax()} ({acc.max():.1f} %). Where two runs' intervals overlap, the test "
            f"split cannot tell them apart.")


__all__ = ["AuditRun", "baseline_configs", "bootstrap_interval", "distilled_images", "evaluation_cards", "example_runs",
           "fpr_gaps", "group_accuracies", "improvement_over_random", "load_audit", "load_audits", "metric_summary",
           "missing_predictions", "net_interval", "percentile_interval", "prediction_tensors", "resamples",
           "run_baselines", "summary_sentence", "tpr_table"]
