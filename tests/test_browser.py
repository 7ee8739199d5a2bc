"""The widgets notebook, driven in a real browser: JupyterLab, headless Chromium, a click on Train.

nbval runs the notebooks in a kernel only; it cannot see whether the ipywidgets panel renders
in JupyterLab or whether pressing its button updates the page. This test does what a learner
does: open notebook 05 in JupyterLab, run its cells up to the panel and the panel's checks
(the later cells, the sweeps, are nbval's to run: tests/test_notebooks.py), press Train, watch
the plot and the table.

Chromium comes from Debian (`apt-get install chromium`, done by .ci/run), driven by Python
Playwright; Playwright's own browser download is not used. Without either, the test is skipped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "notebooks/05_tuning_with_widgets.ipynb"
# The test runs the notebook's cells above this heading: the imports, START, the panel, the
# second panel and the checks (the code cells counted below). The rest is nbval's to run.
PANEL_CHECKED_BEFORE = "The same run in plain Python"


def _code_cells_above(heading: str) -> int:
    cells = json.loads((ROOT / NOTEBOOK).read_text())["cells"]
    first = next(i for i, c in enumerate(cells) if heading in "".join(c["source"]))
    return sum(c["cell_type"] == "code" for c in cells[:first])


CELLS_UP_TO_THE_PANEL = _code_cells_above(PANEL_CHECKED_BEFORE)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab user settings for the test server: no news or update checks (the machine is
# offline and their pop-up would cover the page), and every cell kept in the page so that
# the test can read all the prompts of a long notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

pytestmark = pytest.mark.integration


@dataclass
class LabServer:
    """A running JupyterLab server: where it listens and how to log in."""

    url: str
    token: str
    root: Path
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log, for error messages."""
        return self.log.read_text(errors="replace")[-chars:]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api(server: LabServer, path: str, method: str = "GET") -> object:
    """Call the Jupyter server's REST API and return the decoded JSON (None when empty)."""
    request = urllib.request.Request(
        f"{server.url}{path}", method=method, headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def wait_until_ready(server: LabServer, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll the server's status endpoint until it answers, failing early if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}"
            )
        try:
            api(server, "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def stop_server(server: LabServer, process: subprocess.Popen) -> None:
    """Shut down the kernels, then the server's whole process group."""
    # Kernels run in sessions of their own, so ask the server to stop them first.
    if process.poll() is None:
        try:
            for kernel in api(server, "/api/kernels"):
                api(server, f"/api/kernels/{kernel['id']}", method="DELETE")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
    for sig, grace in [(signal.SIGTERM, 20), (signal.SIGKILL, 10)]:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # the group is gone already
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def running_lab(notebooks: Path, workdir: Path, quick: bool = True) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 with a token, serving a copy of `notebooks` (quick mode by default).

    The server is stopped when the block ends, whether it ends normally or by an error.
    """
    root = workdir / "course"
    # A copy, so that JupyterLab's autosave never writes outputs into the repository.
    shutil.copytree(notebooks, root / "notebooks", ignore=shutil.ignore_patterns(".*"))
    settings = workdir / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    environment = os.environ | {
        "TLHELPERS_QUICK": "1" if quick else "",  # the kernel inherits the server's environment
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
    }
    server = LabServer(f"http://127.0.0.1:{port}", token, root, workdir / "jupyterlab.log")
    with server.log.open("wb") as log:
        # A session of its own, so that stopping it can signal the whole process group.
        process = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_ready(server, process)
        yield server
    finally:
        stop_server(server, process)


# JavaScript run in the page: the input prompts of the code cells of the notebook in the
# current tab, e.g. ["[1]:", "[*]:", "[ ]:"] for a cell that ran, one that runs and one that waits.
CODE_PROMPTS_JS = """() => {
    const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current');
    const panel = tab && document.getElementById(tab.dataset.id);
    if (!panel) return [];
    return Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt'),
                      p => p.textContent.trim());
}"""
# The kernel status in JupyterLab's status bar, e.g. "Python 3 (ipykernel) | Idle".
KERNEL_IDLE_JS = """() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
    .some(item => /^(?!No Kernel).+ [|] Idle$/.test(item.textContent.trim()))"""


def open_notebook(page, server: LabServer, relative_path: str) -> None:
    """Open a notebook in JupyterLab and wait until its kernel has started and is idle."""
    page.goto(f"{server.url}/lab/tree/{relative_path}?token={server.token}")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000, polling=500)


def click_menu(page, menu: str, item: str) -> None:
    """Click a top menu, then one of its entries, as a learner would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_all_cells(page, timeout_s: float) -> list[str]:
    """Clear all outputs, run all cells from the Run menu, and wait until the kernel is done.

    Returns the code cells' final prompts: "[n]:" for a cell that ran, "[ ]:" for one that
    did not (after an error, JupyterLab drops the rest of the queue).
    """
    click_menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => ({CODE_PROMPTS_JS})().every(p => p === '[ ]:')")
    click_menu(page, "Run", "Run All Cells")
    # Run All marks every cell "[*]" at once; done is when some cell ran and none is queued.
    page.wait_for_function(
        f"""() => {{
            const prompts = ({CODE_PROMPTS_JS})();
            return prompts.some(p => /[0-9]/.test(p)) && !prompts.some(p => p.includes('*'))
                && ({KERNEL_IDLE_JS})();
        }}""",
        timeout=timeout_s * 1000,
        polling=500,
    )
    return page.evaluate(CODE_PROMPTS_JS)


def run_cells_above(page, heading: str, timeout_s: float) -> list[str]:
    """Clear all outputs, select the markdown cell with ``heading``, run every cell above it.

    What a learner does with "Run All Above Selected Cell" in the Run menu. Returns the code
    cells' final prompts, as :func:`run_all_cells` does ("[ ]:" below the heading).
    """
    click_menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => ({CODE_PROMPTS_JS})().every(p => p === '[ ]:')")
    page.locator(".jp-MarkdownCell", has_text=heading).first.click()
    click_menu(page, "Run", "Run All Above Selected Cell")
    page.wait_for_function(
        f"""() => {{
            const prompts = ({CODE_PROMPTS_JS})();
            return prompts.some(p => /[0-9]/.test(p)) && !prompts.some(p => p.includes('*'))
                && ({KERNEL_IDLE_JS})();
        }}""",
        timeout=timeout_s * 1000,
        polling=500,
    )
    return page.evaluate(CODE_PROMPTS_JS)


def tracebacks(page) -> list[str]:
    """The text of every error output on the page (JupyterLab shows them as stderr)."""
    texts = page.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_inner_texts()
    return [text for text in texts if "Traceback" in text or "Error" in text]


# JavaScript run in the page: from now on, remember every distinct image the live plot shows
# and the most rows the runs table has had, so that the test sees each redraw, however quick.
# The tl-* CSS classes are set by tlcourse.widgets.TuningPanel.
WATCH_PANEL_JS = """panel => {
    const plotImages = () => Array.from(panel.querySelectorAll('.tl-live-plot img'), i => i.src);
    const tableRows = () => panel.querySelectorAll('.tl-runs table tbody tr').length;
    window.plotFrames = new Set(plotImages());
    window.plotFramesBefore = window.plotFrames.size;
    window.tableRowsBefore = tableRows();
    window.tableRows = window.tableRowsBefore;
    new MutationObserver(() => {
        plotImages().forEach(src => window.plotFrames.add(src));
        window.tableRows = Math.max(window.tableRows, tableRows());
    }).observe(panel, {childList: true, subtree: true, attributes: true});
}"""
TRAINING_DONE_JS = f"""() => window.tableRows > window.tableRowsBefore
    && window.plotFrames.size > window.plotFramesBefore && ({KERNEL_IDLE_JS})()"""


def press_train_and_wait(page, panel, timeout_s: float) -> float:
    """Click the panel's Train button and wait for its plot and runs table to update.

    Returns the seconds from the click to the updated panel (also printed).
    """
    panel.evaluate(WATCH_PANEL_JS)
    clicked = time.monotonic()
    panel.locator("button.tl-train", has_text="Train").click()
    page.wait_for_function(TRAINING_DONE_JS, timeout=timeout_s * 1000, polling=500)
    seconds = time.monotonic() - clicked
    print(f"Train click to the updated plot and table: {seconds:.0f} s")
    return seconds


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab serving a copy of the course's notebooks/, stopped after the test."""
    with running_lab(ROOT / "notebooks", tmp_path) as server:
        yield server


def skip_without_chromium() -> None:
    """Skip the calling test when Debian's Chromium or Python Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    pytest.importorskip(
        "playwright.sync_api", reason='Python Playwright missing: pip install -e ".[dev]"'
    )


@contextmanager
def chromium_page(width: int = 1800, height: int = 1200):
    """A page in headless Chromium (Debian's build, driven by Playwright), closed afterwards.

    The one way the tests and tools start the browser (tests/test_site.py,
    tools/panel_screenshot.py).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


@pytest.fixture
def browser_page(tmp_path: Path):
    """A page in headless Chromium (Debian's build), closed after the test."""
    skip_without_chromium()
    with chromium_page() as page:
        yield page


def test_widgets_notebook_trains_in_a_real_browser(browser_page, lab_server, tmp_path):
    # browser_page comes first so that a missing Chromium skips before JupyterLab starts.
    page, server = browser_page, lab_server
    assert (ROOT / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"
    screenshot = tmp_path / "05_tuning_with_widgets.png"
    started = time.monotonic()
    try:
        open_notebook(page, server, NOTEBOOK)
        prompts = run_cells_above(page, PANEL_CHECKED_BEFORE, timeout_s=600)
        print(f"opened and ran the cells above the plain-Python section in "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        ran = [bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts]
        # Every cell up to the panel's checks ran, none after (the selection was respected).
        assert ran == [True] * CELLS_UP_TO_THE_PANEL + [False] * (
            len(ran) - CELLS_UP_TO_THE_PANEL
        ), f"not the expected cells ran: {prompts}\n" + "\n".join(tracebacks(page))

        # The panel renders as real widgets, not as the text JupyterLab shows instead when
        # the widget extension is missing or the kernel's widget is gone.
        notebook_text = page.locator(".jp-NotebookPanel").inner_text()
        for fallback in ["Loading widget...", "Error displaying widget"]:
            assert fallback not in notebook_text
        button = page.locator("button.tl-train", has_text="Train")
        assert button.count() == 1, "expected exactly one Train button"
        panel = page.locator(".jp-OutputArea-output", has=button)
        controls = panel.locator(".tl-controls")
        assert controls.is_visible()
        for label in ["dataset", "learning rate", "epochs", "batch size", "max_length",
                      "layers to train", "cache frozen layers", "train per class",
                      "seed"]:  # fmt: skip
            assert controls.get_by_text(label).count() >= 1, f"no {label!r} control"
        assert controls.locator(".widget-slider, .widget-dropdown, .widget-text").count() == 8
        assert controls.locator(".widget-checkbox").count() == 1

        # Press Train; wait for the live plot to redraw and the runs table to gain a row.
        # (The notebook's own cells may have logged runs already, through the same panel.)
        runs_before = panel.locator(".tl-runs table tbody tr").count()
        press_train_and_wait(page, panel, timeout_s=600)
        status = panel.locator(".tl-status").inner_text()
        assert status.startswith(f"Run {runs_before + 1} done"), status
        assert panel.locator(".tl-runs table tbody tr").count() == runs_before + 1
        assert panel.locator(".tl-live-plot img").count() == 1
        print(f"live plot frames drawn: {page.evaluate('window.plotFrames.size')}")
        assert not tracebacks(page)
        panel.screenshot(path=screenshot)
    except Exception:
        page.screenshot(path=tmp_path / "failure.png")
        raise
    print(f"screenshot: {screenshot}")
