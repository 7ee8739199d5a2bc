"""Regenerate notebooks/images/tuning_panel.png: notebook 05's tuning panel, live in JupyterLab.

Notebook 05 shows this picture to readers who do not run it (on GitHub a saved notebook
cannot show a live widget). The script does what a learner does, in the same JupyterLab
and headless Chromium that ``tests/test_browser.py`` drives: it opens notebook 05 (only its
cells up to the one that displays the panel) in **full mode**, runs them, presses the
panel's Train button once, waits for the live plot and the runs table, and photographs the
panel. So the picture shows the notebook's real start settings and a real run.

Run it from the repository root after changing the panel or notebook 05's settings
(about a minute on a 2-core CPU)::

    python tools/panel_screenshot.py            # writes notebooks/images/tuning_panel.png
    python tools/panel_screenshot.py out.png    # somewhere else

Notebook 05 carries the picture as an attachment of its markdown cell (so that it shows in
Colab too); after retaking it, ``python tools/colab_cells.py --apply`` copies the new picture
in (``tests/test_colab.py`` fails until then).

Needs what the browser test needs: Debian's ``/usr/bin/chromium``, Python Playwright and
JupyterLab (``pip install -e ".[dev]"``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_browser import (  # noqa: E402  (the browser test's helpers, one definition)
    CHROMIUM,
    chromium_page,
    open_notebook,
    press_train_and_wait,
    run_all_cells,
    running_lab,
)

NOTEBOOK = ROOT / "notebooks" / "05_tuning_with_widgets.ipynb"
OUTPUT = ROOT / "notebooks" / "images" / "tuning_panel.png"
PANEL_CELL = "TuningPanel(defaults=START)"  # the code cell that builds and shows the panel
COLOURS = 128  # a palette PNG: the picture stays small in git, text stays sharp


def notebook_up_to_the_panel(folder: Path) -> str:
    """Write notebook 05's cells up to the panel's cell, without outputs, into ``folder``."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    last = next(
        (i for i, cell in enumerate(notebook.cells)
         if cell.cell_type == "code" and PANEL_CELL in cell.source),
        None,
    )  # fmt: skip
    if last is None:
        raise SystemExit(f"No code cell with {PANEL_CELL!r} in {NOTEBOOK.name}.")
    notebook.cells = notebook.cells[: last + 1]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / NOTEBOOK.name)
    return NOTEBOOK.name


def photograph_panel(output: Path) -> Path:
    """Run the panel in JupyterLab, press Train once, and save the panel's picture."""
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        name = notebook_up_to_the_panel(workdir / "notebooks")
        with running_lab(workdir / "notebooks", workdir, quick=False) as server, \
                chromium_page(width=1800, height=1100) as page:  # fmt: skip
            open_notebook(page, server, f"notebooks/{name}")
            prompts = run_all_cells(page, timeout_s=300)
            if not all(p[1:-2].isdigit() for p in prompts):
                raise SystemExit(f"Not every cell ran: {prompts}\n{server.log_tail()}")
            button = page.locator("button.tl-train", has_text="Train")
            panel = page.locator(".jp-OutputArea-output", has=button)
            press_train_and_wait(page, panel, timeout_s=300)
            status = panel.locator(".tl-status").inner_text()
            if "done" not in status:
                raise SystemExit(f"The run did not finish: {status}")
            page.mouse.move(0, 0)  # no hover highlight in the picture
            panel.scroll_into_view_if_needed()
            raw = workdir / "panel.png"
            panel.screenshot(path=raw)
        return shrink(raw, output)


def shrink(source: Path, output: Path) -> Path:
    """Save ``source`` as a palette PNG of :data:`COLOURS` colours at ``output``."""
    from PIL import Image

    output.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        small = image.convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
        small.save(output, optimize=True)
    return output


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else OUTPUT
    saved = photograph_panel(output)
    print(f"saved {saved} ({saved.stat().st_size / 1024:.0f} KiB)")
    if saved.resolve() == OUTPUT.resolve():
        print("now run `python tools/colab_cells.py --apply` to embed it in notebook 05")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
