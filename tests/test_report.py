"""``cobra-lab report``: two smoke runs audited into one offline HTML file, checked as text and in headless
Chromium (every image loaded, the page not blank)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, missing_browser

from cobra_lab import audit, audit_calibration, audit_figures
from cobra_lab.cli import main


@pytest.fixture(scope="module")
def report(study_env: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The report of DM vanilla and COBRA at IPC 10 (smoke), their baselines in the store; the runs' ids."""
    vanilla, cobra, *_ = audit.example_runs("smoke", "cdigits_bg", "dm", ["vanilla", "cobra"], 10, 0,
                                            progress=False)
    out = tmp_path_factory.mktemp("report") / "r.html"
    assert main(["report", vanilla, cobra, "--out", str(out), "--quiet"]) == 0
    return out, [vanilla, cobra]


def test_the_report_is_one_offline_file_with_images_and_intervals(report) -> None:
    out, ids = report
    html = out.read_text()
    assert 'src="http' not in html and 'href="http' not in html
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert all(source.startswith(("data:", "#")) for source in sources), [s[:40] for s in sources]
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) >= 6
    assert "bootstrap over test images" in html and "nets_low" in html and "boot_high" in html
    assert "Calibration per group" in html and "No stored confidences" not in html
    assert all(run_id in html for run_id in ids)
    assert "random_balanced" in html and "accuracy change" in html  # the baselines were found in the store


def test_a_bad_run_id_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["report", "no-such-run", "--out", str(tmp_path / "r.html")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("cobra-lab: error: no run 'no-such-run'") and error.count("\n") == 1
    assert main(["report", "../escape", "--out", str(tmp_path / "r.html")]) == 2
    assert not (tmp_path / "r.html").exists()


def test_the_report_renders_in_headless_chromium(report, tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = missing_browser()
    if reason:
        pytest.skip(f"no browser for the report test: {reason}")
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out, _ = report
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(out.resolve().as_uri())
        images = driver.execute_script("""return Array.from(document.images, image =>
            [image.complete, image.naturalWidth, image.naturalHeight]);""")
        assert len(images) >= 6 and all(done and width > 0 and height > 0 for done, width, height in images)
        shot = out.with_suffix(".png")
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    colours = Image.open(shot).convert("L").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20, "the screenshot is blank"


def test_the_audit_tables_and_figures_of_stored_runs(report) -> None:
    from cobra_lab.audit_figures import fpr_gap_figure, group_accuracy_figure, interval_figure, tpr_heatmaps
    from cobra_lab.runner import load_data

    _, ids = report
    audits = audit.load_audits(ids)
    summary = audit.metric_summary(audits)
    assert len(summary) == 2 * len(audit.INTERVAL_KEYS) and summary["boot_low"].notna().all()
    assert (summary["boot_low"] <= summary["mean"] + 1e-9).all()
    assert (summary["mean"] <= summary["boot_high"] + 1e-9).all()
    improvement = audit.improvement_over_random(audits)
    assert len(improvement) == 4 and improvement["accuracy change"].notna().all()
    first = improvement.iloc[0]
    baseline = audit.load_audit(first["baseline run"])
    assert first["accuracy change"] == pytest.approx(audits[0].metrics["acc"] - baseline.metrics["acc"])
    data = load_data(audits[0].config)
    assert len(interval_figure(summary).axes) == len(audit.INTERVAL_KEYS)
    assert len(tpr_heatmaps(audits, data.class_names, data.group_names).axes) == 3  # two maps and a colour bar
    assert len(fpr_gap_figure(audits, data.class_names).axes[0].patches) >= 2 * data.num_classes
    assert len(group_accuracy_figure(audits, data.group_names).axes[0].patches) >= 2 * data.num_groups
    calibration = audit_calibration.calibration_summary(audits, data.group_names, draws=20)
    assert len(calibration) == 2 * data.num_groups and calibration["boot_low"].notna().all()
    assert ((calibration["ECE"] >= 0) & (calibration["ECE"] <= 100)).all()
    assert len(audit_figures.calibration_figure(calibration).axes[0].collections) >= 2 * 2  # two runs: bands, whiskers
