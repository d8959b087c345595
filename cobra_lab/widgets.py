"""The live SKEW/GAP explorer: sliders redraw the class-conditional group means of the real data in a fixed
embedding, vanilla's target and the chosen mode's among them (paper Figure 1) and each target's worst-case residual
(Theorem 4.1); a button runs a short distill + evaluate of the chosen setting, or shows the stored result.

The figure reaches the page as a PNG: an image widget whose picture is replaced in place on every redraw, or a
static image under papermill. Every setting is computed once: geometries and pictures are memoised."""
from __future__ import annotations

import asyncio
import hashlib
import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from IPython.display import Image, display
from matplotlib.figure import Figure

from . import nets
from .accel.threads import one_thread, single_threaded_pool
from .config import resolve
from .data import load
from .data.bias import GAP_STEPS
from .data.datasets import DATASETS
from .data.loader import load_train
from .diagnostics import fairdd_pull, group_means, targets, worst_case_residual
from .errors import StoreWriteFailed, UserError, check_choice, check_int, check_range
from .explorer_figure import View, diameter_squared, explorer_figure, keep_layout
from .plots import figure_bytes
from .runner import run_one
from .sampling import cell_sample

EMBED_WIDTH = 32  # the fixed random ConvNet that embeds the images
PER_CELL = 64  # images per (class, group) averaged for a mean (the weights use the full counts)
EXPLORER_MODES = ("vanilla", "fairdd", "cobra")
MAX_GAP = len(GAP_STEPS)
SKEW_STEP = 0.05
SCREEN_DPI = 100  # the live picture: 1100 x 560 pixels
DEBOUNCE_SECONDS = 0.15  # slider moves closer together than this are drawn once, at the last setting


@dataclass
class Geometry:
    """Class-conditional group means of one (skew, gap) setting and where each mode pulls each class."""

    skew: float
    gap: int
    means: torch.Tensor  # [C, G, D]
    counts: torch.Tensor  # [C, G] full train counts
    targets: dict[str, torch.Tensor]  # mode -> [C, D] (FairDD: where its per-group pulls balance)
    residuals: dict[str, torch.Tensor]  # mode -> [C] worst-case squared residual over the groups present


def frontend_connected() -> bool:
    """Whether a notebook front end (JupyterLab, Notebook, VS Code) sent the running cell; False under papermill."""
    try:
        from IPython import get_ipython

        kernel = get_ipython().kernel
        parent = kernel.get_parent("shell") if hasattr(kernel, "get_parent") else kernel._parent_header
    except AttributeError:  # not in a kernel at all
        return False
    return bool(parent.get("metadata"))  # front ends tag the request (cellId, ...); nbclient sends none


def skew_floor(num_groups: int) -> float:
    """The smallest SKEW the explorer offers: 1/G (all groups equal) rounded up to the slider step. Below 1/G the
    "majority" group would be the smallest, the same geometry as a larger SKEW toward the other groups."""
    return round(math.ceil(round(1 / num_groups / SKEW_STEP, 6)) * SKEW_STEP, 2)


class Debounced:
    """Calls ``action`` once, ``delay`` seconds after the last call of a burst, on the running event loop (the
    kernel's); at once where no loop runs (a script, a test)."""

    def __init__(self, action: Callable[[], None], delay: float = DEBOUNCE_SECONDS) -> None:
        self.action, self.delay = action, delay
        self._pending: asyncio.TimerHandle | None = None

    def __call__(self, _=None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.action()
            return
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(self.delay, self.action)


class SkewGapExplorer:
    """Group geometry of a benchmark as SKEW and GAP change, drawn for one class, with a run button."""

    def __init__(self, dataset: str = "cdigits_bg", skew: float = 0.9, gap: int = 0, mode: str = "cobra",
                 method: str = "dm", ipc: int = 10, profile: str = "quick", seed: int = 0, shown_class: int = 0,
                 root: str | None = None) -> None:
        self.dataset, self.method, self.ipc, self.profile, self.seed, self.root = \
            dataset, method, ipc, profile, seed, root
        self.mode = check_choice("mode", mode, EXPLORER_MODES)
        first = load(dataset, skew=skew, gap=gap, seed=seed)
        recipe = DATASETS.build(dataset)
        self.source = recipe.load_source(seed=seed)  # read once, re-biased per setting
        self.shown_class = check_int("class", shown_class, 0, first.num_classes - 1)
        self.class_names, self.group_names = first.class_names, first.group_names
        self.min_skew = skew_floor(len(self.group_names))
        # 1, or below it for a user's set: the highest SKEW keeping an image of every group, down to the step
        self.max_skew = round(math.floor(round(recipe.highest_skew(self.source) / SKEW_STEP, 6)) * SKEW_STEP, 2)
        channels, size = first.image_shape[0], first.image_shape[-1]
        self.net = nets.build("convnet", channels, first.num_classes, size, torch.Generator().manual_seed(seed),
                              width=EMBED_WIDTH).eval().requires_grad_(False)  # embeds only, in any thread
        self._features: dict[bytes, torch.Tensor] = {}  # image digest -> [D]
        self._geometries: dict[tuple[float, int], Geometry] = {}
        self._pictures: dict[tuple[float, int, str], bytes] = {}
        self.geometry = self.compute(skew, gap)
        self.view = self._fixed_view()
        self.history: list[str] = []  # one line per run of the button
        self.redraw_seconds: float | None = None

    def _key(self, skew: float, gap: int) -> tuple[float, int]:
        """A setting as the caches key it, checked against the slider ranges."""
        skew = check_range("SKEW", skew, self.min_skew, self.max_skew)
        return round(skew, 4), check_int("GAP", gap, 0, MAX_GAP)

    @torch.no_grad()
    def compute(self, skew: float, gap: int) -> Geometry:
        """The group geometry at (skew, gap), embedded by the fixed net (memoised per setting)."""
        key = self._key(skew, gap)
        if key not in self._geometries:
            with one_thread():  # small ops: one intra-op thread each, no team waiting on a busy core
                train = load_train(self.dataset, skew=key[0], gap=key[1], seed=self.seed, source=self.source)
            classes, groups = len(self.class_names), len(self.group_names)
            rows = cell_sample(train.y, train.a, groups, PER_CELL, self.seed)
            feats = self.embed(train.x[rows])  # [n, D]
            means, _ = group_means(feats, train.y[rows], train.a[rows], classes, groups)
            counts = train.counts(classes, groups)  # [C, G]
            goals = {**targets(means, counts), "fairdd": fairdd_pull(means, counts)}
            self._geometries[key] = Geometry(
                key[0], key[1], means, counts, goals,
                {name: worst_case_residual(means, counts, goal) for name, goal in goals.items()})
        return self._geometries[key]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings [N, D] of images x [N, C, H, W] by the fixed net; an image seen at an earlier setting (the
        same pixels: most images keep their group and corruption when a slider moves) is not embedded again."""
        keys = [hashlib.blake2b(image.numpy().tobytes(), digest_size=16).digest() for image in x]
        new = list({key: row for row, key in enumerate(keys) if key not in self._features}.values())
        if new:
            workers = torch.get_num_threads()  # one chunk per core, each on one intra-op thread
            chunks = x[new].chunk(workers)
            feats = torch.cat(list(single_threaded_pool(workers).map(self.net.embed, chunks)))  # [new, D]
            self._features.update({keys[row]: feat for row, feat in zip(new, feats)})
        return torch.stack([self._features[key] for key in keys])

    def _fixed_view(self) -> View:
        """Axes held over the slider range: the first setting's principal plane of the group means, limits over
        every GAP at the first SKEW (other SKEWs move the means only by re-drawing images), and a residual axis up
        to the largest squared group distance (no target inside the groups' hull has a larger worst case)."""
        means = self.geometry.means[self.geometry.counts > 0]  # [cells, D]
        centre = means.mean(0)  # [D]
        basis = torch.linalg.svd(means - centre, full_matrices=False).Vh[:2].T  # [D, 2]
        view = View(centre, basis, (math.inf, -math.inf), (math.inf, -math.inf), 0.0)
        for gap in range(MAX_GAP + 1):
            geo = self.compute(self.geometry.skew, gap)
            view.include(view.project(geo.means[self.shown_class][geo.counts[self.shown_class] > 0]),
                         diameter_squared(geo.means, geo.counts))
        return view

    def figure(self, geometry: Geometry | None = None, mode: str | None = None) -> Figure:
        """The explorer's figure of ``geometry`` (default: the current one) for ``mode`` (default: the chosen)."""
        geo, mode = geometry or self.geometry, check_choice("mode", mode or self.mode, EXPLORER_MODES)
        c = self.shown_class
        self.view.include(self.view.project(geo.means[c][geo.counts[c] > 0]),
                          max(float(r.max()) for r in geo.residuals.values()))  # grows only if a setting leaves it
        return explorer_figure(geo.means, geo.counts, geo.targets, geo.residuals, mode, self.view, c,
                               self.class_names, self.group_names,
                               f"{self.dataset}: SKEW {geo.skew:g}, GAP {geo.gap} · target: {mode}")

    def picture(self, skew: float, gap: int, mode: str | None = None) -> bytes:
        """Move to (skew, gap) and ``mode`` and return the figure as PNG bytes, memoised per setting;
        ``redraw_seconds`` records the whole wait (statistics, drawing, PNG encoding)."""
        began = time.perf_counter()
        self.mode = check_choice("mode", mode or self.mode, EXPLORER_MODES)
        self.geometry = self.compute(skew, gap)
        key = (self.geometry.skew, self.geometry.gap, self.mode)
        if key not in self._pictures:
            fig = self.figure()
            self._pictures[key] = figure_bytes(fig, "png", SCREEN_DPI)
            keep_layout(fig, self.view)
        self.redraw_seconds = time.perf_counter() - began
        return self._pictures[key]

    def is_cached(self, skew: float, gap: int, mode: str | None = None) -> bool:
        """Whether the picture of this setting is already drawn."""
        return (*self._key(skew, gap), mode or self.mode) in self._pictures

    def run_selected(self, progress: bool = True) -> dict:
        """Distill + evaluate the current setting with the chosen mode (read back when stored); the line it adds
        to ``history``."""
        config = resolve(self.dataset, self.method, self.mode, self.ipc, profile=self.profile, seed=self.seed,
                         data={"skew": self.geometry.skew, "gap": self.geometry.gap})
        metrics = run_one(config, self.root, progress=progress)
        how = "stored" if metrics["cached"] else f"new run, {metrics['seconds']:.0f} s"
        self.history.append(f"{self.run_label()} at SKEW {self.geometry.skew:g}, GAP {self.geometry.gap}: "
                            f"acc {metrics['acc']:.1f} %, EOD max {metrics['eod_max']:.1f}, "
                            f"EOD mean {metrics['eod_mean']:.1f} ({how})")
        return metrics

    def run_label(self) -> str:
        """Method, mode and profile of the button's run."""
        return f"{self.method.upper()} {self.mode} ({self.profile})"

    def widget(self):
        """Sliders for SKEW, GAP and the target (mode), a run button, the live picture, then the runs."""
        import ipywidgets as w

        skew = w.FloatSlider(value=self.geometry.skew, min=self.min_skew, max=self.max_skew, step=SKEW_STEP,
                             description="SKEW", continuous_update=False, readout_format=".2f")
        gap = w.IntSlider(value=self.geometry.gap, min=0, max=MAX_GAP, description="GAP", continuous_update=False)
        # a slider, not a dropdown: JupyterLab takes a collapsed dropdown's arrow keys for moving between cells
        mode = w.SelectionSlider(options=EXPLORER_MODES, value=self.mode, description="target",
                                 continuous_update=False)
        button = w.Button(description=f"run {self.run_label()}", icon="play", layout=w.Layout(width="auto"),
                          tooltip="distill and evaluate this setting (read back when stored)")
        image = w.Image(value=self.picture(skew.value, gap.value), format="png",
                        layout=w.Layout(width="100%", max_width="1100px", margin="0"))  # no margin: no scrollbar
        top = "no minority" if self.max_skew == 1 else "the highest at which every group keeps an image"
        note = w.HTML(f"<small>SKEW: each class's share in its majority group, from {self.min_skew:g} "
                      f"(1/{len(self.group_names)}: all groups equal; below it the majority would be the smallest "
                      f"group) to {self.max_skew:g} ({top}). GAP: corruption of the minority images, "
                      f"0..{MAX_GAP}.</small>")
        progress, runs = w.Output(), w.HTML()

        def redraw() -> None:
            try:
                image.value = self.picture(skew.value, gap.value, mode.value)
            except UserError as error:
                note.value = f"<b>{html.escape(str(error))}</b>"

        def choose(change) -> None:
            self.mode = change["new"]
            button.description = f"run {self.run_label()}"

        def run(_) -> None:
            button.disabled, button.icon = True, "hourglass-half"
            button.description = f"running {self.run_label()} …"
            try:
                with progress:
                    progress.clear_output()
                    self.run_selected()
            except (UserError, StoreWriteFailed) as error:
                self.history.append(f"{self.run_label()}: {error}")
            finally:
                progress.clear_output()
                button.disabled, button.icon = False, "play"
                button.description = f"run {self.run_label()}"
            runs.value = "<b>Settings run so far</b><br>" + "<br>".join(html.escape(line) for line in self.history)

        later = Debounced(redraw)
        skew.observe(later, names="value")
        gap.observe(later, names="value")
        mode.observe(choose, names="value")
        mode.observe(later, names="value")
        button.on_click(run)
        return w.VBox([w.HBox([skew, gap]), w.HBox([mode, button]), note, image, progress, runs])

    def show(self, live: bool | None = None) -> Figure | None:
        """The live widget when a front end is connected (or ``live``), else this setting's figure as a PNG image
        (returned too, to save it)."""
        if live if live is not None else frontend_connected():
            display(self.widget())
            return None
        display(Image(data=self.picture(self.geometry.skew, self.geometry.gap)))
        return self.figure()
