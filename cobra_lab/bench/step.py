"""Time one distillation step of cobra-lab's engine against a step written the way the reference code loops.

For DM, DC, IDC and CAFE under vanilla, FairDD and COBRA, on random cfmnist-shaped data with G groups, it times
one image update of the engine (``cobra_lab.distill.image_step``) and one of a reference-style step (a Python
loop over classes, and over groups for FairDD / COBRA, as the released code does), with the same
net, synthetic set and real-image budget. Its command line is ``python benchmarks/bench_step.py --help``
(benchmarks/README.md); the overhead study (``cobra_lab.studies.overhead``) calls ``measure_all`` directly.
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..accel.gradients import matched_layers
from ..accel.memory import keep_freed_memory
from ..accel.pooling import MeanPool2
from ..augment import DSA
from ..config import load_profile
from ..data.types import GroupedData, Split
from ..distill import image_step, initial_images
from ..errors import UserError
from ..methods import METHODS, Method
from ..modes import MODES
from ..paper import find
from ..sampling import CellSampler
from ..training import resolve_device
from .results import write_results

CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
SKEW = 0.9  # share of each class in its majority group
METHOD_NAMES = ("dm", "dc", "idc", "cafe")
MODE_NAMES = ("vanilla", "fairdd", "cobra")
IMPLEMENTATIONS = ("ours", "reference")
PLAIN_CONV_BATCH = 256
PROFILE_GROUPS = {"quick": [2, 4, 10], "paper": [10]}  # G values timed unless --groups says otherwise
CLEAR_REFS = Path("/proc/self/clear_refs")
# glibc otherwise raises its mmap threshold after big frees and keeps later big blocks resident once freed,
# so a step after the warm-up one would reuse them and show too little RSS growth
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
Step = Callable[[], torch.Tensor]


# --- data and set-up ---------------------------------------------------------------------------------------
def skewed_groups(images_per_class: int, groups: int) -> torch.Tensor:
    """Group of each image [CLASSES * n]: 90 % of class c in group c % G, the rest round-robin over the others."""
    majority = round(SKEW * images_per_class)
    blocks = []
    for label in range(CLASSES):
        home = label % groups
        others = torch.tensor([g for g in range(groups) if g != home])  # [G - 1]
        rest = others[torch.arange(images_per_class - majority) % others.numel()]
        blocks.append(torch.cat([torch.full((majority,), home), rest]))
    return torch.cat(blocks)


def make_data(groups: int, images_per_class: int, seed: int) -> GroupedData:
    """Random cfmnist-shaped data: 3x32x32 images, 10 classes, ``groups`` groups with a skewed assignment."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(CLASSES).repeat_interleave(images_per_class)  # [N]
    a = skewed_groups(images_per_class, groups)  # [N]
    x = torch.randn(y.numel(), *IMAGE_SHAPE, generator=generator)  # [N, 3, 32, 32]
    train = Split(x, y, a, a.clone())
    return GroupedData("random-cfmnist", train, train, [f"c{c}" for c in range(CLASSES)],
                       [f"g{g}" for g in range(groups)], (0.5,) * 3, (0.5,) * 3)


def profile_config(method: str, args: argparse.Namespace) -> dict:
    """The ``--profile``'s settings for ``method``, with the benchmark's ipc, net width, real budget and
    compilation."""
    profile = load_profile(args.profile)
    config = {"method": method, "ipc": args.ipc, "net": dict(profile["net"], width=args.width),
              **copy.deepcopy(profile["methods"][method])}
    config["distill"].update(real_per_class=args.real_per_class, compile=args.compile)
    return config


@dataclass
class Setup:
    """What one step needs: the method, its prepared net, the synthetic images and their optimiser."""

    method: Method
    net: nn.Module
    x_syn: torch.Tensor  # [CLASSES * ipc, 3, 32, 32] leaf being distilled
    optimizer: torch.optim.Optimizer
    dsa: DSA | None
    train_x: torch.Tensor  # [N, 3, 32, 32] on the device
    generator: torch.Generator

    @property
    def real_per_class(self) -> int:
        """Real images per class per step (the config's ``real_per_class``)."""
        return int(self.method.distill["real_per_class"])


def make_setup(data: GroupedData, train_x: torch.Tensor, config: dict, device: torch.device, seed: int) -> Setup:
    """Initial images, a fresh net prepared as the distill loop does, and the optimiser; same seed, same start."""
    settings = config["distill"]
    generator = torch.Generator().manual_seed(seed)
    method = METHODS.build(config["method"], config, data.image_shape, data.num_classes)
    x_init, y_syn, _, _ = initial_images(data, int(config["ipc"]), settings["init"], generator)
    x_syn = x_init.to(device).requires_grad_(True)
    net = method.new_net(generator).to(device)
    method.prepare(net, x_syn, y_syn.to(device), generator)
    optimizer = torch.optim.SGD([x_syn], lr=float(settings["lr_img"]), momentum=float(settings["momentum"]))
    dsa = DSA(settings["dsa_strategy"]) if settings["dsa"] else None
    return Setup(method, net, x_syn, optimizer, dsa, train_x, generator)


# --- the two steps -----------------------------------------------------------------------------------------
def ours_step(setup: Setup, data: GroupedData, mode_name: str) -> Step:
    """The engine's step: the mode's sampling (pooled or stratified), one shared DSA draw, batched statistics,
    the mode's loss."""
    mode = MODES.build(mode_name)
    sampler = CellSampler(data.train.y, data.train.a_observed, data.num_classes, data.num_groups,
                          setup.real_per_class, mode.sampling, setup.train_x.device)
    return lambda: image_step(setup.method, mode, setup.net, setup.x_syn, setup.optimizer, sampler, setup.dsa,
                              setup.train_x, setup.generator)


def with_reference_pooling(net: nn.Module) -> None:
    """Swap the net's ``MeanPool2`` layers for the reference's ``nn.AvgPool2d(2)`` (the same function), in place."""
    for module in net.modules():
        for name, child in list(module.named_children()):
            if isinstance(child, MeanPool2):
                setattr(module, name, nn.AvgPool2d(2))


class ReferenceStep:
    """A step written like the reference code: a loop over classes, then over the groups in each class batch.

    Per class: ``real_per_class`` random images of the class (unstratified), one DSA draw for that class's
    real and synthetic images (IDC: the class's decoded images), one real forward. DM: per-group means sliced
    from that forward. DC and IDC: FairDD takes one forward per group ([COB]), COBRA one forward and one
    ``autograd.grad`` per group with ``retain_graph``. CAFE: per-group layer means sliced from one forward of
    every layer, then the discrimination term over every class's real embeddings. The net is the engine's with
    the reference's ``nn.AvgPool2d``. The distance is the engine's (DM squared L2, DC and IDC per-row cosine,
    CAFE layer-weighted squared error); FairDD terms are summed.
    """

    def __init__(self, setup: Setup, data: GroupedData, mode_name: str) -> None:
        with_reference_pooling(setup.net)
        self.setup, self.mode = setup, mode_name
        self.rows = [torch.nonzero(data.train.y == c).flatten() for c in range(data.num_classes)]
        self.groups = data.train.a_observed.to(setup.train_x.device)  # [N]
        self.ipc = setup.x_syn.shape[0] // data.num_classes
        self.params = list(setup.net.parameters())
        weights = [layer.weight for layer in matched_layers(setup.net)]
        self.matched = [i for i, p in enumerate(self.params) if any(p is w for w in weights)]
        self.class_loss = {"dm": self.dm_loss, "dc": self.dc_loss, "idc": self.dc_loss,
                           "cafe": self.cafe_loss}[setup.method.name]
        self.embeddings: list[tuple[torch.Tensor, torch.Tensor]] = []  # CAFE: per class (real [R, E], syn [E])

    def __call__(self) -> torch.Tensor:
        """One image update; returns the loss, detached."""
        s = self.setup
        loss = s.x_syn.new_zeros(())
        for label, rows in enumerate(self.rows):
            index = rows[torch.randperm(rows.numel(), generator=s.generator)[:s.real_per_class]]  # [R]
            index = index.to(s.train_x.device)
            augment = self.class_augment()
            x_real = augment(s.train_x[index])  # [R, 3, 32, 32]
            stored = s.x_syn[label * self.ipc:(label + 1) * self.ipc]  # [ipc, 3, 32, 32]
            x_syn = augment(s.method.decode(stored))  # [ipc * k, 3, 32, 32]: IDC decodes k pieces per image
            loss = loss + self.class_loss(x_real, self.groups[index], x_syn, label)
        if self.embeddings:
            loss = loss + self.discrimination_loss()
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        s.optimizer.step()
        return loss.detach()

    def class_augment(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """One Siamese DSA draw for one class (identity without DSA)."""
        if self.setup.dsa is None:
            return lambda images: images
        draw = self.setup.dsa.draw(self.setup.generator, n=1, size=IMAGE_SHAPE[-1])
        return lambda images: self.setup.dsa.apply(images, draw)

    def mode_loss(self, real: torch.Tensor, a_real: torch.Tensor, syn: torch.Tensor) -> torch.Tensor:
        """One class's loss from its real per-image statistics [R, D] (groups a_real [R]) and synthetic mean [D]:
        the pooled mean (vanilla), one distance per group mean summed (FairDD), or the groups' mean (COBRA)."""
        distance = self.setup.method.distance
        if self.mode == "vanilla":
            return distance(real.mean(0), syn)
        means = torch.stack([real[a_real == g].mean(0) for g in a_real.unique()])  # [G_c, D]
        if self.mode == "fairdd":
            return distance(means, syn.expand_as(means)).sum()
        return distance(means.mean(0), syn)

    def dm_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """DM / FairDD / COBRA loss of one class: one real forward, per-group means by slicing."""
        net = self.setup.net
        with torch.no_grad():
            real = net.embed(x_real)  # [R, D]
        syn = net.embed(x_syn).mean(0)  # [D]
        return self.mode_loss(real, a_real, syn)

    def cafe_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """CAFE / FairDD / COBRA loss of one class: one real forward of every layer, per-group layer means by
        slicing; keeps the class's real embeddings and synthetic embedding mean for the discrimination term."""
        net = self.setup.net
        with torch.no_grad():
            taps = [tap.flatten(1) for tap in net.taps(x_real)]  # [[R, D_k] per layer]
        real = torch.cat(taps, dim=1)  # [R, D]
        syn = torch.cat([tap.flatten(1).mean(0) for tap in net.taps(x_syn)])  # [D]
        self.embeddings.append((taps[-1], syn[-taps[-1].shape[1]:]))
        return self.mode_loss(real, a_real, syn)

    def discrimination_loss(self) -> torch.Tensor:
        """CAFE's discrimination term: every class's real embeddings scored against the synthetic class means of
        the embedding, cross-entropy summed, times the method's weight; empties the kept embeddings."""
        real = torch.cat([embeddings for embeddings, _ in self.embeddings])  # [C * R, E]
        labels = torch.cat([torch.full((embeddings.shape[0],), label, device=real.device)
                            for label, (embeddings, _) in enumerate(self.embeddings)])  # [C * R]
        prototypes = torch.stack([syn for _, syn in self.embeddings])  # [C, E]
        self.embeddings = []
        weight = float(self.setup.method.distill["discrimination_weight"])
        return weight * F.cross_entropy(real @ prototypes.t(), labels, reduction="sum")

    def dc_loss(self, x_real: torch.Tensor, a_real: torch.Tensor, x_syn: torch.Tensor, label: int) -> torch.Tensor:
        """DC / FairDD / COBRA loss of one class: parameter gradients with ``torch.autograd.grad``."""
        net, distance = self.setup.net, self.setup.method.distance
        syn = self.weight_grad(net(x_syn), label, create_graph=True)  # [D]
        if self.mode == "vanilla":
            return distance(self.weight_grad(net(x_real), label).detach(), syn)
        present = a_real.unique()
        if self.mode == "fairdd":
            return sum(distance(self.weight_grad(net(x_real[a_real == g]), label).detach(), syn) for g in present)
        logits = net(x_real)  # [R, classes]
        per_group = [self.weight_grad(logits[a_real == g], label, retain_graph=True).detach() for g in present]
        return distance(torch.stack(per_group).mean(0), syn)

    def weight_grad(self, logits: torch.Tensor, label: int, create_graph: bool = False,
                    retain_graph: bool | None = None) -> torch.Tensor:
        """Gradient of the mean cross-entropy w.r.t. every parameter; the matched weights, flattened: [D]."""
        target = torch.full((logits.shape[0],), label, device=logits.device)
        grads = torch.autograd.grad(F.cross_entropy(logits, target), self.params, create_graph=create_graph,
                                    retain_graph=retain_graph)
        return torch.cat([grads[i].flatten() for i in self.matched])


def build_step(setup: Setup, data: GroupedData, mode_name: str, implementation: str) -> Step:
    """The step of ``implementation`` ('ours' or 'reference')."""
    return ours_step(setup, data, mode_name) if implementation == "ours" else ReferenceStep(setup, data, mode_name)


# --- measuring ---------------------------------------------------------------------------------------------
def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so wall times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(step: Callable[[], object], steps: int, warmup: int, device: torch.device) -> float:
    """Median wall time of ``steps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cuda_peak_mb(step: Step, device: torch.device) -> float:
    """Peak CUDA memory allocated during one step above what was allocated before it (MB)."""
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    step()
    synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**20


def proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_peak_mb(step: Step) -> float:
    """Peak RSS growth during one step (MB): the kernel's high-water mark is reset just before it."""
    gc.collect()
    CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    before = proc_status_mb("VmRSS")
    step()
    return proc_status_mb("VmHWM") - before


def child_argv(args: argparse.Namespace, method: str, mode: str, groups: int, implementation: str) -> list[str]:
    """Command line measuring one configuration's memory in a fresh interpreter."""
    return [sys.executable, "-m", __name__, "--device", args.device, "--ipc", str(args.ipc),
            "--real-per-class", str(args.real_per_class), "--width", str(args.width),
            "--images-per-class", str(args.images_per_class), "--seed", str(args.seed),
            "--profile", args.profile, "--groups", *map(str, args.groups),
            "--compile" if args.compile else "--no-compile",
            "--memory-of", f"{method},{mode},{groups},{implementation}"]


def child_peak_mb(args: argparse.Namespace, method: str, mode: str, groups: int, implementation: str) -> float:
    """``rss_peak_mb`` of one configuration in a fresh process, so no other configuration's memory counts."""
    result = subprocess.run(child_argv(args, method, mode, groups, implementation), check=True,
                            capture_output=True, text=True, env={**os.environ, **CHILD_ENV})
    return float(result.stdout.split()[-1])


def memory_child(args: argparse.Namespace, device: torch.device) -> int:
    """The ``--memory-of`` entry point: one warm-up step, then the peak RSS growth of one step, on stdout."""
    method, mode, groups, implementation = args.memory_of.split(",")
    data = make_data(int(groups), args.images_per_class, args.seed)
    setup = make_setup(data, data.train.x.to(device), profile_config(method, args), device, args.seed)
    step = build_step(setup, data, mode, implementation)
    step()
    print(f"{rss_peak_mb(step):.3f}")
    return 0


def conv_flops_per_image(net: nn.Module, device: torch.device) -> float:
    """Forward FLOPs (2 x multiply-adds) of one image through the net's Conv2d layers, from the layer shapes."""
    flops: list[int] = []

    def count(module: nn.Conv2d, args: tuple, out: torch.Tensor) -> None:
        kh, kw = module.kernel_size
        flops.append(2 * out[0].numel() * module.in_channels // module.groups * kh * kw)

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net.embed(torch.zeros(1, *IMAGE_SHAPE, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return float(sum(flops))


def plain_conv_flops_per_second(width: int, device: torch.device, reps: int) -> float:
    """FLOP rate of one plain 3x3 conv2d, [256, width, 32, 32] -> [256, width, 32, 32], without autograd."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(PLAIN_CONV_BATCH, width, 32, 32, generator=generator).to(device)  # [256, width, 32, 32]
    weight = torch.randn(width, width, 3, 3, generator=generator).to(device)  # [width, width, 3, 3]
    with torch.no_grad():
        seconds = median_seconds(lambda: F.conv2d(x, weight, padding=1), reps, 1, device)
    return 2 * PLAIN_CONV_BATCH * width * width * 9 * 32 * 32 / seconds


@dataclass
class Measurement:
    """One configuration's median step time and peak memory growth (None: not measured)."""

    seconds: float
    peak_mb: float | None


def interleaved_medians(steps: dict[tuple[str, str], Step], count: int, warmup: int,
                        device: torch.device) -> dict[tuple[str, str], float]:
    """Median wall time of each step over ``count`` rounds that time every step once, in turn, after ``warmup``
    untimed rounds; the machine's speed drifting during the run then affects every step alike."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    for _ in range(count):
        for key, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def measure(args: argparse.Namespace, data: GroupedData, train_x: torch.Tensor, method: str,
            device: torch.device) -> dict[tuple[str, str], Measurement]:
    """Time every (mode, implementation) of ``method`` here, interleaved; memory here on CUDA, in a fresh
    process per configuration on the CPU."""
    config = profile_config(method, args)
    steps = {(mode, implementation): build_step(make_setup(data, train_x, config, device, args.seed), data, mode,
                                                implementation)
             for mode in MODE_NAMES for implementation in IMPLEMENTATIONS}
    for step in steps.values():
        step()  # the first step compiles the engine's passes (with --compile, as the profiles do); never timed
    seconds = interleaved_medians(steps, args.steps, args.warmup, device)
    if not args.memory:
        return {key: Measurement(seconds[key], None) for key in steps}
    if device.type == "cuda":
        return {key: Measurement(seconds[key], cuda_peak_mb(step, device)) for key, step in steps.items()}
    return {(mode, implementation): Measurement(seconds[mode, implementation],
                                                child_peak_mb(args, method, mode, data.num_groups, implementation))
            for mode, implementation in steps}


# --- report ------------------------------------------------------------------------------------------------
Results = dict[tuple[str, str, int, str], Measurement]


def memory_note(args: argparse.Namespace, device: torch.device) -> str:
    """How peak memory was measured, for the report."""
    if not args.memory:
        return "memory: not measured (--no-memory)"
    if device.type == "cuda":
        return "memory: torch.cuda.max_memory_allocated during one step minus memory_allocated before it"
    return ("memory: peak RSS growth during one step (VmHWM reset via /proc/self/clear_refs, minus VmRSS before), "
            "after one warm-up step, each configuration in a fresh subprocess with glibc's mmap threshold fixed "
            "at 128 KiB (freed big blocks go back to the OS)")


def timed_methods(results: Results) -> list[str]:
    """The methods ``results`` holds, in the benchmark's order."""
    return [method for method in METHOD_NAMES if any(key[0] == method for key in results)]


def table(results: Results, groups: list[int], dm_flops: float, conv_rate: float) -> list[str]:
    """Rows: method, mode, G, times, ratios, peak memory, conv efficiency (DM)."""
    def cell(value: float | None, width: int, decimals: int) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}.{decimals}f}"

    head = (f"{'method':6} {'mode':7} {'G':>3} {'ours ms':>9} {'ref ms':>9} {'ours/ref':>8} {'ours/van':>8} "
            f"{'ref/van':>8} {'MB ours':>8} {'MB ref':>8} {'conv-eff ours':>13} {'conv-eff ref':>12}")
    lines = [head, "-" * len(head)]
    for method in timed_methods(results):
        for g in groups:
            for mode in MODE_NAMES:
                ours, ref = results[method, mode, g, "ours"], results[method, mode, g, "reference"]
                van_ours, van_ref = results[method, "vanilla", g, "ours"], results[method, "vanilla", g, "reference"]
                eff = [dm_flops / m.seconds / conv_rate if method == "dm" else None for m in (ours, ref)]
                lines.append(f"{method:6} {mode:7} {g:>3} {ours.seconds * 1e3:>9.1f} {ref.seconds * 1e3:>9.1f} "
                             f"{ours.seconds / ref.seconds:>8.3f} {ours.seconds / van_ours.seconds:>8.3f} "
                             f"{ref.seconds / van_ref.seconds:>8.3f} {cell(ours.peak_mb, 8, 1)} "
                             f"{cell(ref.peak_mb, 8, 1)} {cell(eff[0], 13, 3)} {cell(eff[1], 12, 3)}")
    return lines


def paper_table13(results: Results, groups: list[int]) -> list[str]:
    """Our engine's step beside the paper's Table 13 (its GPU, C-FMNIST BG, IPC 10, 256 real per class) for
    every method, mode and G the table reports."""
    setting = find(13, method="dm", mode="vanilla")
    lines = [f"paper Table 13 ({setting['device']}; ipc {setting['ipc']}, {setting['real_per_class']} real images per "
             f"class) beside ours:"]
    for method in timed_methods(results):
        for g in groups:
            for mode in MODE_NAMES:
                reported = find(13, method=method, mode=mode, groups=g)
                if reported is not None:
                    ours = results[method, mode, g, "ours"].seconds * 1e3
                    lines.append(f"  {method} {mode:7} G={g:<3} paper {reported['ms']:7.1f} +- "
                                 f"{reported['ms_std']:5.1f} ms | ours {ours:9.1f} ms | "
                                 f"ours/paper {ours / reported['ms']:7.3f}")
    return lines


def summary(results: Results, g: int, dm_flops: float, conv_rate: float) -> str:
    """The last line: COBRA's cost over vanilla, ours over the reference, DM conv efficiency, at G = g, for the
    methods timed."""
    def seconds(method: str, mode: str, implementation: str = "ours") -> float:
        return results[method, mode, g, implementation].seconds

    methods = timed_methods(results)
    cobra = " ".join(f"{m.upper()}@G{g}={seconds(m, 'cobra') / seconds(m, 'vanilla'):.3f}" for m in methods)
    reference = " ".join(f"{m.upper()}={seconds(m, 'vanilla') / seconds(m, 'vanilla', 'reference'):.3f}"
                         for m in methods)
    efficiency = (f" | conv-efficiency DM={dm_flops / seconds('dm', 'vanilla') / conv_rate:.3f}"
                  if "dm" in methods else "")
    return f"cobra/vanilla {cobra} | ours/reference vanilla {reference}{efficiency}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Time one distillation step (DM, DC, IDC, CAFE x vanilla, fairdd, cobra) of "
                    "cobra-lab's engine against a reference-style per-class loop, on random cfmnist-shaped data. "
                    "The last line summarises at the largest G given (labelled with it, e.g. DM@G10).")
    parser.add_argument("--profile", choices=tuple(PROFILE_GROUPS), default="quick",
                        help="the profile whose DM / DC / IDC / CAFE settings, net width, real budget and G values are "
                             "the defaults; paper: width 128, 256 real images per class, G = 10, with the paper's "
                             "Table 13 (H100) printed beside ours")
    parser.add_argument("--groups", type=int, nargs="+", default=None, help="G values, each >= 2 (default: "
                                                                            "the profile's)")
    parser.add_argument("--ipc", type=int, default=10, help="synthetic images per class")
    parser.add_argument("--real-per-class", type=int, default=None,
                        help="real images per class per step (default: the profile's)")
    parser.add_argument("--width", type=int, default=None, help="ConvNet width, depth 3, instance norm "
                                                                "(default: the profile's)")
    parser.add_argument("--methods", nargs="+", choices=METHOD_NAMES, default=list(METHOD_NAMES),
                        help="the methods to time (default: all)")
    parser.add_argument("--images-per-class", type=int, default=600, help="random train images per class")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per configuration (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory per configuration (CPU: one subprocess each)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="compile the engine's passes as the profiles do (distill.compile); "
                             "--no-compile times eager code and needs no C++ compiler")
    parser.add_argument("--json", default=None, help="also write every measurement to this JSON file "
                                                     "(benchmarks/results/bench_step-<profile>.json: the recorded "
                                                     "one; outputs/benchmarks/: what notebook 13 reads)")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    profile = load_profile(args.profile)
    defaults = {"groups": PROFILE_GROUPS[args.profile], "width": int(profile["net"]["width"]),
                "real_per_class": int(profile["methods"]["dm"]["distill"]["real_per_class"])}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.groups) < 2 or min(args.ipc, args.real_per_class, args.width, args.steps) < 1 or args.warmup < 0:
        parser.error("--groups must be >= 2; --ipc, --real-per-class, --width, --steps >= 1; --warmup >= 0")
    if args.images_per_class < max(args.real_per_class, args.ipc):
        parser.error("--images-per-class must be at least --real-per-class and --ipc")
    return args


def measure_all(args: argparse.Namespace) -> tuple[torch.device, Results, float, float]:
    """Every configuration's measurement: the device, the results, the DM step's conv FLOPs and the plain conv rate."""
    device = resolve_device(args.device)
    if args.memory and device.type == "cpu" and not CLEAR_REFS.exists():
        raise UserError("peak RSS needs Linux's /proc/self/clear_refs; run with --no-memory")
    conv_rate = plain_conv_flops_per_second(args.width, device, max(3, args.steps))
    dm = METHODS.build("dm", profile_config("dm", args), IMAGE_SHAPE, CLASSES)
    net = dm.new_net(torch.Generator().manual_seed(args.seed)).to(device)
    dm_flops = conv_flops_per_image(net, device) * CLASSES * (args.real_per_class + 2 * args.ipc)
    results: Results = {}
    for g in sorted(set(args.groups)):
        data = make_data(g, args.images_per_class, args.seed)
        train_x = data.train.x.to(device)  # [N, 3, 32, 32]
        for method in [m for m in METHOD_NAMES if m in args.methods]:
            print(f"bench_step: G={g} {method}", file=sys.stderr, flush=True)
            for (mode, implementation), measurement in measure(args, data, train_x, method, device).items():
                results[method, mode, g, implementation] = measurement
    return device, results, dm_flops, conv_rate


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; its last line is the one-line summary."""
    args = parse_args(argv)
    keep_freed_memory()  # as a run does
    if args.memory_of:
        return memory_child(args, resolve_device(args.device))
    device, results, dm_flops, conv_rate = measure_all(args)
    groups = sorted(set(args.groups))
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"device: {device}{threads}, torch {torch.__version__} | ConvNet width {args.width}, depth 3, "
          f"instancenorm | {CLASSES} classes of 3x32x32, ipc {args.ipc}, groups {' '.join(map(str, groups))}")
    print(f"real images per step: {CLASSES * args.real_per_class} ({args.real_per_class} per class), "
          f"every method, mode and implementation; {args.images_per_class} random images per class, "
          f"{SKEW:.0%} in group class % G")
    first = "ours: compilation" if args.compile else "ours eager, --no-compile"
    print(f"time: median of {args.steps} steps after one first step ({first}) and {args.warmup} "
          f"warm-up steps, the six configurations of a method and G timed in turn, one step each; net creation "
          f"excluded for both (one net per configuration, made before timing); DC, IDC and CAFE: one outer round, "
          f"inner-loop training excluded")
    print(memory_note(args, device))
    print(f"plain conv2d [{PLAIN_CONV_BATCH}, {args.width}, 32, 32] {args.width}->{args.width} 3x3: "
          f"{conv_rate / 1e9:.2f} GFLOP/s; DM step conv work {dm_flops / 1e9:.3f} GFLOP (real forward + "
          f"synthetic forward and input-gradient backward); conv-eff = work / step time / plain rate")
    print("\n".join(table(results, groups, dm_flops, conv_rate)))
    if args.profile == "paper":
        print("\n".join(paper_table13(results, groups)))
    if args.json:
        write_results(args.json, "bench_step", records(args, device, results))
    print(summary(results, groups[-1], dm_flops, conv_rate))
    return 0


def records(args: argparse.Namespace, device: torch.device, results: Results) -> dict:
    """Every measurement as a record (method, mode, groups, implementation, seconds, peak_mb), with the settings,
    as the JSON file holds them."""
    rows = [{"method": method, "mode": mode, "groups": g, "implementation": implementation,
             "seconds": m.seconds, "peak_mb": m.peak_mb} for (method, mode, g, implementation), m in results.items()]
    settings = {key: value for key, value in vars(args).items() if key not in ("json", "memory_of")}
    return {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "settings": settings, "records": rows}


if __name__ == "__main__":
    sys.exit(main())
