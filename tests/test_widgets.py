"""The SKEW/GAP explorer: geometry, the picture a user sees (PNG, replaced in place, cached), the mode selector,
the run button, the fixed view, the reading line, live vs static display."""
from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import ipywidgets
import pytest
import torch
from IPython.core.formatters import DisplayFormatter

from cobra_lab import widgets
from cobra_lab.errors import UserError
from cobra_lab.explorer_figure import reading_line
from cobra_lab.widgets import Debounced, SkewGapExplorer, frontend_connected, skew_floor

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explorer() -> SkewGapExplorer:
    return SkewGapExplorer("cdigits_bg", skew=0.9, gap=0, profile="smoke", ipc=2)


def controls(box):
    """The sliders, the mode selector, the button and the image of an explorer widget."""
    (skew, gap), (mode, button) = box.children[0].children, box.children[1].children
    return skew, gap, mode, button, box.children[3]


def shown(image) -> bytes:
    """The picture an image widget holds."""
    return bytes(image.value)


def test_geometry_shapes_and_targets(explorer: SkewGapExplorer) -> None:
    geo = explorer.geometry
    classes, groups = geo.counts.shape
    assert geo.means.shape[:2] == (classes, groups) and set(geo.residuals) == {"vanilla", "cobra", "fairdd"}
    assert geo.counts.sum() == 900  # every train image counted
    # COBRA's target is the plain mean of the group means; vanilla's the count-weighted one
    torch.testing.assert_close(geo.targets["cobra"], geo.means.mean(1))
    weights = geo.counts.float() / geo.counts.sum(1, keepdim=True)
    torch.testing.assert_close(geo.targets["vanilla"], torch.einsum("cg,cgd->cd", weights, geo.means))


def test_sliders_replace_the_picture_in_place(explorer: SkewGapExplorer) -> None:

    box = explorer.widget()
    skew, gap, mode, button, image = controls(box)
    assert isinstance(skew, ipywidgets.FloatSlider) and isinstance(image, ipywidgets.Image)
    assert image.format == "png" and shown(image).startswith(PNG)
    before, pictures = explorer.geometry, {shown(image)}
    for skew_value, gap_value in ((0.6, 0), (0.6, 3), (0.95, 1)):
        started = time.perf_counter()
        skew.value, gap.value = skew_value, gap_value  # what a user's drag does (no event loop: drawn at once)
        assert 0 < explorer.redraw_seconds <= time.perf_counter() - started  # this move's redraw was timed
        assert (explorer.geometry.skew, explorer.geometry.gap) == (skew_value, gap_value)
        assert box.children[3] is image and shown(image).startswith(PNG)  # the same widget, a new picture
        pictures.add(shown(image))
    assert len(pictures) == 4  # every setting gave a different picture
    assert not torch.allclose(explorer.geometry.means, before.means)


def test_the_mode_changes_the_picture_and_the_button(explorer: SkewGapExplorer) -> None:
    skew, gap, mode, button, image = controls(explorer.widget())
    skew.value = 0.8
    seen = {}
    for name in ("vanilla", "fairdd", "cobra"):
        mode.value = name
        seen[name] = shown(image)
        assert name in button.description and "DM" in button.description and "smoke" in button.description
    assert len(set(seen.values())) == 3
    assert explorer.is_cached(0.8, gap.value, "fairdd")
    mode.value = "fairdd"  # back to a setting already drawn: read from the cache
    assert shown(image) == seen["fairdd"] and explorer.redraw_seconds < 0.05


def test_an_image_is_embedded_once(explorer: SkewGapExplorer, monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))  # images no setting has shown
    first = explorer.embed(x)
    torch.testing.assert_close(first, explorer.net.embed(x), atol=1e-5, rtol=1e-5)

    def refuse(_):
        raise AssertionError("embedded again")

    monkeypatch.setattr(explorer.net, "embed", refuse)
    torch.testing.assert_close(explorer.embed(x.flip(0)), first.flip(0))  # read back by pixels, in any order


def test_the_view_is_fixed_over_the_slider_range(explorer: SkewGapExplorer) -> None:
    limits = set()
    for skew_value, gap_value in ((0.5, 0), (0.95, 4), (explorer.min_skew, 2)):
        left, right = explorer.figure(explorer.compute(skew_value, gap_value)).axes[:2]
        limits.add((left.get_xlim(), left.get_ylim(), right.get_ylim()))
    assert len(limits) == 1


def test_skew_is_bounded_where_the_majority_stays_the_majority(explorer: SkewGapExplorer) -> None:
    assert (skew_floor(10), skew_floor(3), skew_floor(2)) == (0.1, 0.35, 0.5)
    assert explorer.min_skew == 0.1
    with pytest.raises(UserError, match=r"SKEW must be in \[0.1, 1\]"):
        explorer.compute(0.05, 0)
    with pytest.raises(UserError, match="GAP must be an integer in 0..4"):
        explorer.compute(0.5, 5)


def test_more_skew_moves_vanilla_away_from_the_minorities(explorer: SkewGapExplorer) -> None:
    low, high = explorer.compute(0.5, 0), explorer.compute(0.95, 0)
    assert high.residuals["vanilla"].mean() > low.residuals["vanilla"].mean()
    assert high.residuals["cobra"].mean() < high.residuals["vanilla"].mean()


def test_reading_line() -> None:
    classes = ["0", "1", "2"]
    residuals = {"vanilla": torch.tensor([4.0, 2.0, 8.0]), "cobra": torch.tensor([2.0, 3.0, 4.0])}
    line = reading_line(residuals, "cobra", classes)
    assert line.startswith("COBRA's worst case: 0.83× vanilla's") and "at most vanilla's in 2/3 classes" in line
    assert "above in 1, where Theorem 4.1's angle condition fails" in line
    assert "largest 8.0 (class 2)" in reading_line(residuals, "vanilla", classes)


def test_run_button_names_the_run_is_disabled_and_lists_the_results(explorer: SkewGapExplorer,
                                                                     tmp_path: Path) -> None:
    explorer.root = str(tmp_path)
    box = explorer.widget()
    skew, gap, mode, button, _ = controls(box)
    skew.value, gap.value, mode.value = 0.9, 0, "cobra"
    assert button.description == "run DM cobra (smoke)" and not button.disabled
    button.click()
    button.click()  # the same setting again: read back from the store
    runs = box.children[-1].value
    assert runs.count("DM cobra (smoke) at SKEW 0.9, GAP 0: acc ") == 2
    assert "(new run, " in runs and runs.endswith("(stored)") and not button.disabled
    first, again = explorer.history[-2:]
    assert first.split("(new run")[0] == again.split("(stored)")[0]  # same numbers read back
    states = []
    explorer.run_selected = lambda: states.append((button.disabled, button.description))  # observe mid-run
    button.click()
    del explorer.run_selected
    assert states == [(True, "running DM cobra (smoke) …")] and not button.disabled


def test_a_burst_of_moves_is_drawn_once() -> None:
    drawn = []

    async def burst() -> None:
        later = Debounced(lambda: drawn.append(len(drawn)), delay=0.05)
        for _ in range(3):
            later()
        await asyncio.sleep(0.2)
        later()
        await asyncio.sleep(0.2)

    asyncio.run(burst())
    assert drawn == [0, 1]  # three quick presses drawn once, the later one once more


def test_static_picture_without_a_front_end(explorer: SkewGapExplorer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not frontend_connected()  # pytest is no notebook front end
    displayed = []
    monkeypatch.setattr(widgets, "display", displayed.append)
    figure = explorer.show()
    assert figure is not None and len(figure.axes) == 3  # two panels and the legend strip
    formats, _ = DisplayFormatter().format(displayed[0])
    assert base64.b64decode(formats["image/png"]).startswith(PNG)
    explorer.show(live=True)
    assert isinstance(displayed[1], ipywidgets.VBox)
