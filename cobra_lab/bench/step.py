"""Time one distillation step of cobra-lab's engine against a step written the way the reference code loops.

For DM, DC, IDC and CAFE under vanilla, FairDD and COBRA, on random cfmnist-shaped data with G groups
(``fake_data``) or a named dataset's real images (``real_batches``), it times one image update of the engine
(``loops.statistic_matching.image_step``) and one of a reference-style step (``reference_step``), with the same
net, synthetic set and real-image budget, and measures peak memory (``peak_memory``). ``step_options`` says what
to measure, ``measure_all`` measures it; ``step_report`` prints it. benchmarks/bench_step.py is its command line
and the overhead study (``cobra_lab.studies.overhead``) calls ``measure_all`` directly.
"""
from __future__ import annotations

import dataclasses
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .. import nets
from ..accel.memory import keep_freed_memory
from ..config import load_profile
from ..data.datasets import DATASETS
from ..data.types import GroupedData
from ..errors import UserError, check_choice
from ..loops.statistic_matching import image_step
from ..modes import MODES
from ..sampling import CellSampler
from ..sections import RunConfig
from ..training import resolve_device
from .fake_data import RANDOM, make_data
from .flops import conv_flops_per_image, plain_conv_flops_per_second
from .peak_memory import Peak, cuda_peak_mb, in_fresh_process, rss_peak_available, rss_peak_mb
from .real_batches import natural_groups, real_batches
from .reference_step import ReferenceStep
from .step_setup import Setup, make_setup, step_config
from .timing import interleaved_times

METHOD_NAMES = ("dm", "dc", "idc", "cafe")
MODE_NAMES = ("vanilla", "fairdd", "cobra")
IMPLEMENTATIONS = ("ours", "reference")
PROFILE_GROUPS = {"quick": (2, 4, 10), "paper": (10,)}  # G values timed on random data unless ``groups`` says
Step = Callable[[], torch.Tensor]


@dataclass(frozen=True)
class StepOptions:
    """What the step benchmark measures and at which sizes (``step_options`` fills the profile's defaults)."""

    profile: str
    dataset: str  # RANDOM or a registered dataset's name
    groups: tuple[int, ...]
    ipc: int
    real_per_class: int
    width: int | None  # None: each method's net width in the profile
    methods: tuple[str, ...]
    images_per_class: int
    steps: int
    warmup: int
    device: str
    seed: int
    memory: bool
    compile: bool

    def config(self, method: str) -> RunConfig:
        """The run config one step of ``method`` is set up from (a ``RunConfig``)."""
        return step_config(method, self.profile, self.dataset, self.ipc, self.width, self.real_per_class,
                           self.compile, self.seed, self.device)

    def data(self, groups: int) -> GroupedData:
        """The images one configuration's steps draw from, with ``groups`` groups."""
        if self.dataset == RANDOM:
            return make_data(groups, self.images_per_class, self.seed)
        return real_batches(self.dataset, groups, self.images_per_class, self.seed)


def step_options(profile: str = "quick", dataset: str = RANDOM, groups: list[int] | None = None, ipc: int = 10,
                 real_per_class: int | None = None, width: int | None = None,
                 methods: list[str] | None = None, images_per_class: int = 600, steps: int = 20, warmup: int = 3,
                 device: str = "auto", seed: int = 0, memory: bool = True, compile: bool = True) -> StepOptions:
    """The benchmark's options, the profile's sizes where none is given (quick: its width and real budget, G = 2,
    4, 10; paper: width 128, 256 real images per class, G = 10; on a named dataset G defaults to its own number
    of groups), checked: a one-line UserError when one is off."""
    check_choice("profile", profile, PROFILE_GROUPS)
    check_choice("dataset", dataset, (RANDOM, *DATASETS.names()))
    settings = load_profile(profile)
    methods = tuple(methods or METHOD_NAMES)
    for method in methods:
        check_choice("method", method, METHOD_NAMES)
    default_groups = PROFILE_GROUPS[profile] if dataset == RANDOM else (natural_groups(dataset),)
    options = StepOptions(profile, dataset, tuple(groups or default_groups), ipc,
                          real_per_class or settings["methods"]["dm"]["distill"]["real_per_class"],
                          width, methods, images_per_class, steps, warmup, device, seed, memory, compile)
    if min(options.groups) < 2 or min(ipc, options.real_per_class, width or 1, steps) < 1 or warmup < 0:
        raise UserError("groups must be >= 2; ipc, real per class, width and steps >= 1; warmup >= 0")
    if images_per_class < max(options.real_per_class, ipc):
        raise UserError("images per class must be at least the real images per class and the ipc")
    return options


def ours_step(setup: Setup, data: GroupedData, mode_name: str) -> Step:
    """The engine's step: the mode's sampling (pooled or stratified), one shared DSA draw, batched statistics,
    the mode's loss."""
    mode = MODES.build(mode_name)
    sampler = CellSampler(data.train.y, data.train.a_observed, data.num_classes, data.num_groups,
                          setup.real_per_class, mode.sampling, setup.train_x.device)
    return lambda: image_step(setup.method, mode, setup.net, setup.x_syn, setup.optimizer, sampler, setup.dsa,
                              setup.train_x, setup.generator)


def build_step(setup: Setup, data: GroupedData, mode_name: str, implementation: str) -> Step:
    """The step of ``implementation`` ('ours' or 'reference')."""
    return ours_step(setup, data, mode_name) if implementation == "ours" else ReferenceStep(setup, data, mode_name)


def one_step_memory(options: StepOptions, method: str, mode: str, groups: int, implementation: str) -> Peak:
    """The peak resident set (growth and whole, MB) of one step of a configuration after one warm-up step, as a
    run's process sets up memory; run in a fresh process (``in_fresh_process``) so no other configuration's
    memory counts."""
    keep_freed_memory()
    device = resolve_device(options.device)
    data = options.data(groups)
    step = build_step(make_setup(data, data.train.x.to(device), options.config(method), device), data, mode,
                      implementation)
    step()
    return rss_peak_mb(step)


@dataclass
class Measurement:
    """One configuration's step times (median, mean, standard deviation) and peak memory (None: not measured)."""

    seconds: float  # median
    mean_seconds: float
    std_seconds: float  # sample standard deviation; 0 for one timed step
    peak: Peak | None

    @property
    def growth_mb(self) -> float | None:
        """Peak memory growth during the step (MB; None: not measured)."""
        return None if self.peak is None else self.peak.growth_mb

    @property
    def total_mb(self) -> float | None:
        """The whole peak during the step (MB; None: not measured)."""
        return None if self.peak is None else self.peak.total_mb


Results = dict[tuple[str, str, int, str], Measurement]


@dataclass
class StepMeasurements:
    """Every configuration's measurement, with the device, the DM step's conv FLOPs and a plain conv's rate."""

    options: StepOptions
    device: torch.device
    results: Results
    dm_flops: float
    conv_rate: float

    def records(self) -> dict:
        """Every measurement as a record (method, mode, groups, implementation, seconds (median), mean_seconds,
        std_seconds, peak_mb (growth during the step), peak_total_mb), with the settings, as the JSON results file
        holds them."""
        rows = [{"method": method, "mode": mode, "groups": g, "implementation": implementation,
                 "seconds": m.seconds, "mean_seconds": m.mean_seconds, "std_seconds": m.std_seconds,
                 "peak_mb": m.growth_mb, "peak_total_mb": m.total_mb}
                for (method, mode, g, implementation), m in self.results.items()]
        return {"device": str(self.device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                "settings": dataclasses.asdict(self.options), "records": rows}


def measure(options: StepOptions, data: GroupedData, train_x: torch.Tensor, method: str,
            device: torch.device) -> dict[tuple[str, str], Measurement]:
    """Time every (mode, implementation) of ``method`` here, interleaved; memory here on CUDA, in a fresh
    process per configuration on the CPU."""
    config = options.config(method)
    steps = {(mode, implementation): build_step(make_setup(data, train_x, config, device), data, mode, implementation)
             for mode in MODE_NAMES for implementation in IMPLEMENTATIONS}
    for step in steps.values():
        step()  # the first step compiles the engine's passes (with compile on, as the profiles do); never timed
    times = interleaved_times(steps, options.steps, options.warmup, device)
    if not options.memory:
        peaks = dict.fromkeys(steps)
    elif device.type == "cuda":
        peaks = {key: cuda_peak_mb(step, device) for key, step in steps.items()}
    else:
        peaks = {(mode, implementation): in_fresh_process(one_step_memory, options, method, mode, data.num_groups,
                                                          implementation) for mode, implementation in steps}
    return {key: Measurement(statistics.median(times[key]), statistics.mean(times[key]),
                             statistics.stdev(times[key]) if len(times[key]) > 1 else 0.0, peaks[key])
            for key in steps}


def dm_step_flops(options: StepOptions, data: GroupedData, device: torch.device) -> float:
    """The conv FLOPs of one DM step on ``data``: real forward, synthetic forward and its input-gradient backward."""
    net_config = options.config("dm").net
    net = nets.build(net_config.arch, data.image_shape[0], data.num_classes, data.image_shape[-1],
                     torch.Generator().manual_seed(0), **net_config.options).to(device)
    return conv_flops_per_image(net, data.image_shape, device) * data.num_classes * (options.real_per_class
                                                                                   + 2 * options.ipc)


def measure_all(options: StepOptions) -> StepMeasurements:
    """Every configuration's measurement (progress lines on stderr)."""
    device = resolve_device(options.device)
    if options.memory and device.type == "cpu" and not rss_peak_available():
        raise UserError("peak RSS needs Linux's /proc/self/clear_refs; run without memory (--no-memory)")
    conv_rate = plain_conv_flops_per_second(options.config("dm").net.width, device, max(3, options.steps))
    results: Results = {}
    dm_flops = 0.0
    for g in sorted(set(options.groups)):
        data = options.data(g)
        dm_flops = dm_flops or dm_step_flops(options, data, device)
        train_x = data.train.x.to(device)  # [N, 3, 32, 32]
        for method in [m for m in METHOD_NAMES if m in options.methods]:
            print(f"bench_step: G={g} {method}", file=sys.stderr, flush=True)
            for (mode, implementation), measurement in measure(options, data, train_x, method, device).items():
                results[method, mode, g, implementation] = measurement
    return StepMeasurements(options, device, results, dm_flops, conv_rate)
