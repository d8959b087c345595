"""The live explorer as a user sees it: JupyterLab on 127.0.0.1 (with a token, on a free port) driven by headless
Chromium through selenium. The quickstart, prepared for the smoke profile, runs all its cells; the explorer must
show an image that changes when the SKEW slider and the target move by keyboard, and its run button must list a
result. On failure the screenshots and the server's log are kept under outputs/browser_test/."""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill
import pytest

from cobra_lab.paths import repo_root

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1200")
EXPLORER = "//div[contains(@class, 'widget-vbox')][.//img[contains(@class, 'widget-image')]]"
KEPT = repo_root() / "outputs" / "browser_test"
# JupyterLab asks whether to fetch news; a fresh settings folder answers no, so no toast covers the page
NO_NEWS = '{"fetchNews": "false"}'


def missing_browser() -> str | None:
    """Why no browser can be had here (None: Chromium, its driver and selenium are all present)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], object], seconds: float, what: str, every: float = 0.25):
    """``check()``'s first truthy value within ``seconds``, else an AssertionError naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, study_store: Path, session_data_root: Path):
    """A JupyterLab server on 127.0.0.1 serving the quickstart prepared for the smoke profile; stopped at the end."""
    reason = missing_browser()
    if reason:
        pytest.skip(f"no browser for the JupyterLab test: {reason}")
    home = tmp_path_factory.mktemp("lab")
    prepared = home / "00_quickstart.ipynb"
    papermill.execute_notebook(str(repo_root() / "notebooks" / "00_quickstart.ipynb"), str(prepared),
                               parameters={"profile": "smoke", "out_dir": str(home / "out")}, prepare_only=True,
                               kernel_name="python3")
    notebook = nbformat.read(prepared, as_version=4)
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, prepared)
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(NO_NEWS)
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "COBRA_LAB_OUTPUTS": str(study_store), "COBRA_LAB_DATA": str(session_data_root),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root()), os.environ.get("PYTHONPATH")])),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}",
               "--expose-app-in-browser"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "server.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    try:
        wait_for(answering, 90, "JupyterLab to answer")
        yield {"url": f"{base}/lab/tree/{prepared.name}?token={token}", "log": log, "home": home}
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def start_chromium(profile: Path):
    """Headless Chromium with the fresh profile folder ``profile``, driven through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium for the JupyterLab tests."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def picture(driver) -> str:
    """A digest of the picture the explorer's image shows now (its bytes, fetched from the page)."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const image = document.evaluate(arguments[0] + "//img[contains(@class, 'widget-image')]", document, null,
                                        XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
        if (!image || !image.complete || image.naturalWidth === 0) { done(""); return; }
        fetch(image.src).then(reply => reply.arrayBuffer()).then(bytes => crypto.subtle.digest("SHA-256", bytes))
            .then(hash => done(image.naturalWidth + "x" + image.naturalHeight + ":" +
                  Array.from(new Uint8Array(hash), b => b.toString(16).padStart(2, "0")).join("")))
            .catch(error => done(""));""", EXPLORER)


def kernel_status(driver) -> str | None:
    """The notebook's kernel status as JupyterLab shows it (None before the notebook has a kernel)."""
    return driver.execute_script("""
        const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const kernel = panel && panel.sessionContext && panel.sessionContext.session &&
                       panel.sessionContext.session.kernel;
        return kernel ? kernel.status : null;""")


def failed_cell(driver) -> str | None:
    """The text of the first cell output that shows a Python traceback, if any."""
    for output in driver.find_elements("css selector", ".jp-OutputArea-output"):
        if "Traceback" in output.text:
            return output.text[-2000:]
    return None


def test_the_explorer_redraws_in_jupyterlab(lab, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    shots = []

    def shot(name: str) -> None:
        path = tmp_path / f"{len(shots):02d}-{name}.png"
        browser.save_screenshot(str(path))
        shots.append(path)

    try:
        browser.get(lab["url"])
        wait_for(lambda: kernel_status(browser) == "idle", 120, "the notebook's kernel to start")
        shot("opened")
        browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")  # not awaited

        def explorer_shown() -> str:
            error = failed_cell(browser)
            assert error is None, f"a cell failed:\n{error}"
            return picture(browser)

        first = wait_for(explorer_shown, 300, "the explorer's image", every=1)
        explorer = browser.find_element("xpath", EXPLORER)
        browser.execute_script("arguments[0].scrollIntoView()", explorer)
        shot("explorer")

        def slider(name: str):
            return explorer.find_element("xpath", f".//div[contains(@class, 'widget-slider')]"
                                                  f"[.//label[normalize-space()='{name}']]")

        def press(name: str, key: str) -> None:
            """Focus the named slider's handle and press ``key``, as a keyboard user does."""
            handle = slider(name).find_element("css selector", ".noUi-handle")
            browser.execute_script("arguments[0].focus()", handle)
            handle.send_keys(key)

        def readout(name: str) -> str:
            return slider(name).find_element("css selector", ".widget-readout").text

        def changed(*before: str):
            return lambda: (lambda now: now if now and now not in before else None)(picture(browser))

        press("SKEW", Keys.ARROW_LEFT)
        moved = wait_for(changed(first), 60, "a new picture after SKEW moved")
        assert readout("SKEW") == "0.85"
        shot("skew")

        press("target", Keys.ARROW_LEFT)
        wait_for(changed(first, moved), 60, "a new picture after the target changed")
        assert readout("target") == "fairdd"
        button = explorer.find_element("xpath", ".//button[contains(., 'run DM')]")
        assert button.text.strip() == "run DM fairdd (smoke)"
        shot("mode")

        button.click()
        def result_line() -> str | None:
            runs = explorer.find_elements("xpath", ".//div[contains(@class, 'widget-html')]"
                                                   "[contains(., 'Settings run so far')]")
            return runs[0].text if runs and " acc " in runs[0].text else None

        line = wait_for(result_line, 180, "a result line under the explorer", every=1)
        assert "DM fairdd (smoke) at SKEW 0.85, GAP 0: acc " in line and "EOD max" in line
        wait_for(lambda: button.is_enabled(), 30, "the run button to be enabled again")
        shot("ran")
        explorer.screenshot(str(tmp_path / "explorer.png"))  # the explorer alone, as README shows it
    except BaseException:
        try:
            shot("failure")
        finally:
            KEPT.mkdir(parents=True, exist_ok=True)
            for path in [*shots, lab["log"]]:
                shutil.copy(path, KEPT / path.name)
        raise


def test_no_browser_is_a_stated_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMEDRIVER", tmp_path / "chromedriver")
    assert missing_browser() == f"{tmp_path / 'chromedriver'} is missing (apt install chromium-driver)"
