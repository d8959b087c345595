"""Train fresh nets on a (synthetic or full) training set and measure accuracy and fairness on the test split."""
from __future__ import annotations

import statistics
import time

import torch
from tqdm.auto import tqdm

from . import nets
from .accel.settings import Acceleration
from .augment import DSA
from .data import bias
from .data.types import Split
from .ensemble import NetEnsemble, can_stack, predict_ensemble, train_ensemble_epochs
from .errors import UserError
from .fairness import fairness_metrics
from .sampling import cell_sample
from .sections import RunConfig
from .training import group_balanced_weights, predict, resolve_device, train_epochs

SUMMARY_KEYS = ("acc", "eod_max", "eod_mean", "fpr_gap_max", "fpr_gap_mean")
EVAL_CPU_CHUNK = 32  # images per pass of an evaluation net on the CPU when eval.chunk is "auto" (bench_eval.py)
PREDICT_BATCH = 1000  # test images per prediction pass at most


def summarize(per_run: list[dict]) -> dict:
    """Mean and standard deviation over evaluation nets of every scalar metric, plus the mean TPR table."""
    out: dict = {"runs": len(per_run)}
    for key in SUMMARY_KEYS:
        values = [run[key] for run in per_run]
        out[key] = statistics.fmean(values)
        out[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    out["tpr"] = torch.tensor([run["tpr"] for run in per_run], dtype=torch.float64).nanmean(0).tolist()
    out["per_run"] = [{key: run[key] for key in SUMMARY_KEYS} for run in per_run]
    return out


def compact(values: torch.Tensor, count: int) -> torch.Tensor:
    """Integer ``values`` below ``count`` in the smallest signed type that holds them (int8, else int16)."""
    return values.to(torch.int8 if count <= torch.iinfo(torch.int8).max else torch.int16)


CONFIDENCE_LEVELS = 255  # a confidence is stored as uint8 code ceil(255 p), 1..255


def confidence_codes(confidence: torch.Tensor) -> torch.Tensor:
    """Confidences in (0, 1] as uint8 codes ceil(255 p). The 15 equal-width bins of the calibration error are runs
    of 17 whole codes, so a code falls in the bin its exact confidence lies in."""
    return (confidence.to(torch.float64) * CONFIDENCE_LEVELS).ceil().clamp(1, CONFIDENCE_LEVELS).to(torch.uint8)


def confidence_values(codes: torch.Tensor) -> torch.Tensor:
    """The confidences ``confidence_codes`` stored, as the middle of each code's interval ((q - 0.5) / 255, within
    0.5 / 255 of the exact value and in its bin), float64."""
    return (codes.to(torch.float64) - 0.5) / CONFIDENCE_LEVELS


def prediction_record(predicted: torch.Tensor, confidence: torch.Tensor, test: Split, num_classes: int,
                      num_groups: int) -> dict:
    """Each evaluation net's test predictions predicted [R, N] and their confidences [R, N] (the top softmax
    probability, as uint8 ``confidence_codes``) with the test images' labels and true groups [N], compact, so
    per-image metrics (intervals, per-cell rates, calibration) need no retraining."""
    return {"predicted": compact(predicted, num_classes), "confidence": confidence_codes(confidence),
            "y": compact(test.y, num_classes), "a": compact(test.a, num_groups)}


def test_subset(test: Split, max_test: int | None, seed: int) -> Split:
    """At most ``max_test`` test images, the same number from every (class, group) cell (seeded), or all; where the
    split holds every test image in every group (``bias.every_group``), the same images in every group."""
    if max_test is None or max_test >= len(test):
        return test
    groups = int(test.a.max()) + 1
    per_cell = max(1, max_test // len((test.y * groups + test.a).unique()))
    size = bias.every_group_size(test.y, test.a)
    if size is None:
        keep = cell_sample(test.y, test.a, groups, per_cell, seed).sort().values  # [<= max_test]
    else:  # the base images of the first group's sample, in every group
        base = cell_sample(test.y[:size], test.a[:size], groups, per_cell, seed).sort().values  # [<= max_test / G]
        keep = (base + size * torch.arange(groups)[:, None]).flatten()  # [<= max_test]
    return Split(test.x[keep], test.y[keep], test.a[keep], test.a_observed[keep])


def eval_net_spec(config: RunConfig) -> tuple[str, dict]:
    """The evaluation architecture and its options: ``config.net``, or ``eval.arch`` with its own defaults."""
    arch = config.eval.arch or config.net.arch
    return arch, config.net.options if arch == config.net.arch else {}


def eval_generator(config: RunConfig, run: int) -> torch.Generator:
    """The generator of evaluation net ``run``: its weights, data order and augmentation draws."""
    return torch.Generator().manual_seed(config.seed * 1000 + run + 7919)


def training_options(config: RunConfig, y: torch.Tensor, groups: torch.Tensor | None, device: torch.device) -> dict:
    """The keyword arguments every evaluation net trains with (SGD settings, DSA, MF's sample weights)."""
    settings = config.eval
    dsa = DSA(settings.dsa_strategy) if settings.dsa else None
    weight = None
    if settings.group_weighting == "balanced":
        if groups is None:
            raise ValueError("eval.group_weighting=balanced needs the training images' groups")
        weight = group_balanced_weights(y.cpu(), groups.cpu()).to(device)
    return {"epochs": settings.epochs, "lr": settings.lr, "batch": settings.batch, "momentum": 0.9,
            "weight_decay": 5e-4, "decay_at": settings.epochs // 2, "augment": dsa, "sample_weight": weight}


def eval_chunk(config: RunConfig, device: torch.device) -> int:
    """Images per pass of an evaluation net (``eval.chunk``; "auto": a few on the CPU, where small activations
    are recycled cheaply, the whole batch on a GPU)."""
    return Acceleration(config.eval.compile, config.eval.chunk).chunk(device, EVAL_CPU_CHUNK)


def prediction_batch(config: RunConfig, device: torch.device) -> int:
    """Test images per prediction pass: ``eval_chunk``'s, at most ``PREDICT_BATCH``."""
    return min(eval_chunk(config, device), PREDICT_BATCH)


def new_eval_net(x: torch.Tensor, config: RunConfig, num_classes: int, generator: torch.Generator) -> torch.nn.Module:
    """A fresh evaluation net for images like x [N, C, H, W], its weights drawn from ``generator``."""
    arch, options = eval_net_spec(config)
    return nets.build(arch, x.shape[1], num_classes, x.shape[-1], generator, **options)


def train_eval_net(x: torch.Tensor, y: torch.Tensor, config: RunConfig, num_classes: int, run: int,
                   groups: torch.Tensor | None = None) -> torch.nn.Module:
    """Evaluation net number ``run`` of ``config``, trained on x [N, C, H, W], y [N] (seeded by seed and run).

    SGD (lr 0.01, momentum 0.9, weight decay 5e-4), batch 256, lr x0.1 at half time, DSA per image when
    ``eval.dsa``. The net is ``config.net``, or ``eval.arch`` with its own defaults when that is set. With
    ``eval.group_weighting: balanced`` (MF) each image's loss is weighted by ``group_balanced_weights`` of the
    training groups ``groups`` [N] (a synthetic image's: the group it was initialised from).
    """
    device = resolve_device(config.device)
    generator = eval_generator(config, run)
    net = new_eval_net(x, config, num_classes, generator).to(device)
    train_epochs(net, x.to(device), y.to(device), generator=generator,
                 **training_options(config, y, groups, device))
    return net


def train_eval_ensemble(x: torch.Tensor, y: torch.Tensor, config: RunConfig, num_classes: int, runs: list[int],
                        groups: torch.Tensor | None = None, progress: bool = False,
                        vectorize: bool | None = None) -> NetEnsemble | None:
    """Evaluation nets ``runs`` of ``config`` trained together (``train_eval_net``'s nets, stacked), or None
    where the architecture cannot be stacked (BatchNorm, dropout). ``vectorize``: vmap the members (default:
    on any device but the CPU, where their passes run in turn, ``eval_chunk`` images at a time)."""
    device = resolve_device(config.device)
    generators = [eval_generator(config, run) for run in runs]
    members = [new_eval_net(x, config, num_classes, generator) for generator in generators]
    if not can_stack(members[0]):
        return None
    vectorize = device.type != "cpu" if vectorize is None else vectorize
    ensemble = NetEnsemble([net.to(device) for net in members], vectorize=vectorize,
                           compile=config.eval.compile)
    options = training_options(config, y, groups, device)
    epochs = tqdm(total=options["epochs"], disable=not progress, desc=f"evaluate {len(runs)} nets together",
                  unit="epoch", leave=False)
    with epochs:
        train_ensemble_epochs(ensemble, x.to(device), y.to(device), generators=generators,
                              chunk=eval_chunk(config, device), on_epoch=lambda _: epochs.update(), **options)
    return ensemble


def evaluate(x: torch.Tensor, y: torch.Tensor, test: Split, config: RunConfig, num_classes: int, num_groups: int,
             progress: bool = True, groups: torch.Tensor | None = None) -> dict:
    """Train ``config.eval.runs`` fresh nets on x [N, C, H, W], y [N] and test each on ``test``.

    With ``eval.ensemble`` (the default) the nets train together where the architecture allows, else one by
    one; either way net r is the same net to float rounding. Returns mean +- std of accuracy, EOD_max,
    EOD_mean (percent) and the TPR table, the seconds taken, whether the nets were stacked and each net's test
    predictions and confidences (``prediction_record``, under "predictions").
    """
    test = test_subset(test, config.eval.max_test, config.seed)
    device = resolve_device(config.device)
    test_x = test.x.to(device)
    batch = prediction_batch(config, device)
    runs = list(range(config.eval.runs))
    began = time.time()
    ensemble = None
    if config.eval.ensemble and len(runs) > 1:
        ensemble = train_eval_ensemble(x, y, config, num_classes, runs, groups, progress)
    try:
        if ensemble is not None:
            predicted, confidence = (part.cpu() for part in predict_ensemble(ensemble, test_x, batch))  # [R, N]
            per_run = [fairness_metrics(pred, test.y, test.a, num_classes, num_groups) for pred in predicted]
        else:
            per_run, rows = [], []
            bar = tqdm(runs, disable=not progress, desc="evaluate", unit="net", leave=False)
            for run in bar:
                net = train_eval_net(x, y, config, num_classes, run, groups)
                rows.append([part.cpu() for part in predict(net, test_x, batch)])  # [N], [N]
                per_run.append(fairness_metrics(rows[-1][0], test.y, test.a, num_classes, num_groups))
                bar.set_postfix(acc=f"{per_run[-1]['acc']:.1f}", eod_mean=f"{per_run[-1]['eod_mean']:.1f}")
            predicted, confidence = (torch.stack(parts) for parts in zip(*rows))  # [R, N] each
    except FloatingPointError:  # a diverged net predicts one class: a trivially "fair" result
        raise UserError(f"an evaluation net diverged (eval.lr={config.eval.lr:g}); the run is not stored: "
                        f"try a smaller eval.lr") from None
    summary = summarize(per_run)
    summary["eval_seconds"] = time.time() - began
    summary["eval_nets_stacked"] = ensemble is not None
    summary["predictions"] = prediction_record(predicted, confidence, test, num_classes, num_groups)
    return summary
