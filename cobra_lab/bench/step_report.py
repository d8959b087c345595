"""The step benchmark's report: its settings, one row per configuration, the paper's Table 13 beside ours, and
a one-line summary."""
from __future__ import annotations

import torch

from ..accel.memory import HEAP_BLOCKS_UP_TO
from ..paper import find
from .fake_data import CLASSES, RANDOM, SKEW
from .flops import PLAIN_CONV_BATCH
from .step import METHOD_NAMES, MODE_NAMES, Results, StepMeasurements, StepOptions


def memory_note(options: StepOptions, device: torch.device) -> str:
    """How peak memory was measured, for the report."""
    if not options.memory:
        return "memory: not measured"
    if device.type == "cuda":
        return "memory: torch.cuda.max_memory_allocated during one step minus memory_allocated before it"
    return (f"memory: peak RSS growth during one step (VmHWM reset via /proc/self/clear_refs, minus VmRSS before), "
            "after one warm-up step, each configuration in a fresh process whose malloc is tuned as a run's is "
            f"(freed blocks of up to {HEAP_BLOCKS_UP_TO >> 20} MiB kept on the heap for reuse)")


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
                             f"{ref.seconds / van_ref.seconds:>8.3f} {cell(ours.growth_mb, 8, 1)} "
                             f"{cell(ref.growth_mb, 8, 1)} {cell(eff[0], 13, 3)} {cell(eff[1], 12, 3)}")
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
                    ours = results[method, mode, g, "ours"]
                    lines.append(f"  {method} {mode:7} G={g:<3} paper {reported['ms']:7.1f} +- "
                                 f"{reported['ms_std']:5.1f} ms | ours {ours.mean_seconds * 1e3:9.1f} +- "
                                 f"{ours.std_seconds * 1e3:7.1f} ms | "
                                 f"ours/paper {ours.mean_seconds * 1e3 / reported['ms']:7.3f}")
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


def report_lines(measured: StepMeasurements) -> list[str]:
    """The whole report: settings, how time and memory were measured, the table (and Table 13 beside ours at the
    paper profile), then the summary line at the largest G."""
    options, device = measured.options, measured.device
    groups = sorted(set(options.groups))
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    first = "ours: compilation" if options.compile else "ours eager, no compilation"
    images = (f"{CLASSES} classes of 3x32x32 random images, {options.images_per_class} per class, {SKEW:.0%} in "
              f"group class % G" if options.dataset == RANDOM else
              f"{options.dataset}'s train images, {options.images_per_class} per class drawn at random, group g "
              f"counted as g mod G")
    widths = "/".join(f"{method.upper()} {options.config(method).net.width}" for method in options.methods)
    conv_width = options.config("dm").net.width
    lines = [
        f"device: {device}{threads}, torch {torch.__version__} | ConvNet width {widths}, depth 3, "
        f"instancenorm | ipc {options.ipc}, groups {' '.join(map(str, groups))}",
        f"data: {images}; real images per step: {options.real_per_class} per class, every method, mode and "
        f"implementation",
        f"time: median of {options.steps} steps after one first step ({first}) and {options.warmup} "
        f"warm-up steps, the six configurations of a method and G timed in turn, one step each; net creation "
        f"excluded for both (one net per configuration, made before timing); DC, IDC and CAFE: one outer round, "
        f"inner-loop training excluded",
        memory_note(options, device),
        f"plain conv2d [{PLAIN_CONV_BATCH}, {conv_width}, 32, 32] {conv_width}->{conv_width} 3x3: "
        f"{measured.conv_rate / 1e9:.2f} GFLOP/s; DM step conv work {measured.dm_flops / 1e9:.3f} GFLOP (real "
        f"forward + synthetic forward and input-gradient backward); conv-eff = work / step time / plain rate",
        *table(measured.results, groups, measured.dm_flops, measured.conv_rate)]
    if options.profile == "paper":
        lines += paper_table13(measured.results, groups)
    return [*lines, summary(measured.results, groups[-1], measured.dm_flops, measured.conv_rate)]
