"""The live SKEW/GAP explorer: sliders redraw the class-conditional group means of the real data in a fixed
embedding, the vanilla and COBRA targets among them (paper Figure 1) and each target's worst-case residual
(Theorem 4.1); a button runs a short distill + evaluate of the chosen setting, or shows the stored result."""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from IPython.display import display
from matplotlib.figure import Figure

from . import nets
from .config import resolve
from .data import load
from .data.benchmarks import BENCHMARKS
from .data.bias import COLOUR_NAMES, PALETTE
from .data.loader import load_train
from .data.sources import load_source
from .diagnostics import group_means, targets, worst_case_residual
from .errors import check_choice, check_int
from .modes import MODES
from .plots import MODE_COLOURS
from .runner import run_one
from .sampling import cell_sample

EMBED_WIDTH = 32  # the fixed random ConvNet that embeds the images
PER_CELL = 64  # images per (class, group) averaged for a mean (the weights use the full counts)


@dataclass
class Geometry:
    """Class-conditional group means of one (skew, gap) setting and what each mode's target makes of them."""

    skew: float
    gap: int
    means: torch.Tensor  # [C, G, D]
    counts: torch.Tensor  # [C, G] full train counts
    targets: dict[str, torch.Tensor]  # mode -> [C, D]
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


class SkewGapExplorer:
    """Group geometry of a benchmark as SKEW and GAP change, drawn for one class, with a run button."""

    def __init__(self, dataset: str = "cdigits_bg", skew: float = 0.9, gap: int = 0, mode: str = "cobra",
                 method: str = "dm", ipc: int = 10, profile: str = "quick", seed: int = 0, shown_class: int = 0,
                 root: str | None = None) -> None:
        self.dataset, self.method, self.ipc, self.profile, self.seed, self.root = \
            dataset, method, ipc, profile, seed, root
        self.mode = check_choice("mode", mode, MODES.names())
        first = load(dataset, skew=skew, gap=gap, seed=seed)
        self.source = load_source(BENCHMARKS.build(dataset).source, seed=seed)  # read once, re-biased per setting
        self.shown_class = check_int("class", shown_class, 0, first.num_classes - 1)
        self.class_names, self.group_names = first.class_names, first.group_names
        channels, size = first.image_shape[0], first.image_shape[-1]
        self.net = nets.build("convnet", channels, first.num_classes, size, torch.Generator().manual_seed(seed),
                              width=EMBED_WIDTH).eval()
        self._geometries: dict[tuple[float, int], Geometry] = {}
        self.geometry = self.compute(skew, gap)
        means = self.geometry.means[self.geometry.counts > 0]  # [cells, D]
        self.centre = means.mean(0)  # [D]
        self.basis = torch.linalg.svd(means - self.centre, full_matrices=False).Vh[:2].T  # [D, 2], fixed from now on
        self.redraw_seconds: float | None = None

    @torch.no_grad()
    def compute(self, skew: float, gap: int) -> Geometry:
        """The group geometry at (skew, gap), embedded by the fixed net (memoised per setting)."""
        key = (round(float(skew), 4), int(gap))
        if key not in self._geometries:
            train = load_train(self.dataset, skew=skew, gap=gap, seed=self.seed, source=self.source)
            classes, groups = len(self.class_names), len(self.group_names)
            rows = cell_sample(train.y, train.a, groups, PER_CELL, self.seed)
            feats = self.net.embed(train.x[rows])  # [n, D]
            means, _ = group_means(feats, train.y[rows], train.a[rows], classes, groups)
            counts = train.counts(classes, groups)  # [C, G]
            goals = targets(means, counts)
            self._geometries[key] = Geometry(
                key[0], key[1], means, counts, goals,
                {name: worst_case_residual(means, counts, goal) for name, goal in goals.items()})
        return self._geometries[key]

    def _group_colour(self, group: int) -> tuple[float, ...] | str:
        """The group's own colour where groups are colours, else a tab10 colour."""
        if tuple(self.group_names) == COLOUR_NAMES:
            return tuple((PALETTE[group].float() / 255).tolist())
        return f"C{group % 10}"

    def figure(self, geometry: Geometry | None = None) -> Figure:
        """Left: the shown class's group means and the two targets in the fixed 2-D view; right: residuals."""
        geo = geometry or self.geometry
        c = self.shown_class
        fig = Figure(figsize=(10.5, 4.8), layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
        present = geo.counts[c] > 0
        xy = (geo.means[c] - self.centre) @ self.basis  # [G, 2]
        sizes = 20 + 400 * geo.counts[c] / geo.counts[c].sum()
        for g in torch.nonzero(present).flatten().tolist():
            left.scatter(*xy[g], s=float(sizes[g]), color=self._group_colour(g), alpha=0.85, edgecolors="k",
                         linewidths=0.6,
                         label=f"{self.group_names[g]} ({int(geo.counts[c, g])})")
        for name, marker in (("vanilla", "X"), ("cobra", "*")):
            point = (geo.targets[name][c] - self.centre) @ self.basis  # [2]
            left.scatter(*point, s=260, marker=marker, color=MODE_COLOURS[name], edgecolors="k",
                         label=f"{name} target", zorder=3)
        left.set_title(f"class {self.class_names[c]}: group means (size ~ count)", fontsize=10)
        left.legend(fontsize=6, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.01), frameon=False)
        left.set_xticks([])
        left.set_yticks([])
        x = torch.arange(len(self.class_names)).float()
        for offset, name in ((-0.2, "vanilla"), (0.2, "cobra")):
            right.bar(x + offset, geo.residuals[name].numpy(), width=0.4, color=MODE_COLOURS[name],
                      label=f"{name}: mean {geo.residuals[name].mean():.2f}")
        right.set_xticks(x.tolist(), self.class_names, rotation=45, ha="right", fontsize=7)
        right.set_ylabel("worst-case residual max_a ||Φ_a − m||²")
        right.legend(fontsize=8)
        fig.suptitle(f"{self.dataset}: SKEW {geo.skew:g}, GAP {geo.gap}", fontsize=11)
        return fig

    def redraw(self, skew: float, gap: int) -> Figure:
        """Move to (skew, gap) and draw it; ``redraw_seconds`` records how long that took."""
        began = time.perf_counter()
        self.geometry = self.compute(skew, gap)
        fig = self.figure()
        fig.canvas.draw()  # render now, so the timing covers what the user waits for
        self.redraw_seconds = time.perf_counter() - began
        return fig

    def run_selected(self, progress: bool = True) -> dict:
        """Distill + evaluate the current setting with the chosen mode (read back when stored)."""
        config = resolve(self.dataset, self.method, self.mode, self.ipc, profile=self.profile, seed=self.seed,
                         data={"skew": self.geometry.skew, "gap": self.geometry.gap})
        return run_one(config, self.root, progress=progress)

    def widget(self):
        """Sliders for SKEW and GAP, a mode selector and a run button, over the live figure."""
        import ipywidgets as w

        low = 1 / len(self.group_names)
        skew = w.FloatSlider(value=self.geometry.skew, min=round(low + 0.05, 2), max=1.0, step=0.05,
                             description="SKEW", continuous_update=False)
        gap = w.IntSlider(value=self.geometry.gap, min=0, max=4, description="GAP", continuous_update=False)
        mode = w.Dropdown(options=MODES.names(), value=self.mode, description="mode")
        button = w.Button(description=f"run {self.method.upper()} ({self.profile})", icon="play")
        plot, result = w.Output(), w.Output()

        def show(_=None) -> None:
            fig = self.redraw(skew.value, gap.value)
            with plot:
                plot.clear_output(wait=True)
                display(fig)

        def choose(change) -> None:
            self.mode = change["new"]

        def run(_) -> None:
            with result:
                result.clear_output()
                metrics = self.run_selected()
                print(f"{self.mode} at SKEW {self.geometry.skew:g}, GAP {self.geometry.gap}: acc {metrics['acc']:.1f}, "
                      f"EOD max {metrics['eod_max']:.1f}, EOD mean {metrics['eod_mean']:.1f}"
                      f"{' (stored)' if metrics['cached'] else ''}")

        skew.observe(show, names="value")
        gap.observe(show, names="value")
        mode.observe(choose, names="value")
        button.on_click(run)
        show()
        return w.VBox([w.HBox([skew, gap, mode, button]), plot, result])

    def show(self, live: bool | None = None) -> Figure | None:
        """The live widget when a front end is connected (or ``live``), else the static figure of this setting."""
        if live if live is not None else frontend_connected():
            display(self.widget())
            return None
        fig = self.redraw(self.geometry.skew, self.geometry.gap)
        display(fig)
        return fig
