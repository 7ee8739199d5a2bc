"""The course notebooks: they run (nbval, quick mode) and the committed copies are clean.

Two kinds of test:

- ``test_notebook_runs``: each numbered notebook is executed top to bottom by nbval
  (``--nbval-lax --nbval-current-env``, with a cell timeout) in a child pytest, in quick
  mode (``TLHELPERS_QUICK=1``, which ``make test`` sets and the kernel inherits).
- ``test_committed_notebook_is_clean``: the file in git carries the outputs of a full run,
  executed in order, without errors, widget state or absolute paths, with at least one image.

Run as a script, this file is what ``make notebooks`` calls: it re-executes notebooks in
place in full mode, strips widget state, and prints each notebook's time and problems::

    python tests/test_notebooks.py notebooks/01_choosing_a_model.ipynb ...
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell in quick mode
# Output text that reveals where the notebook was run: home or work folders, temp folders,
# installed-package paths, Windows drives.
ABSOLUTE_PATH = re.compile(r"(/work/|/home/|/root/|/tmp/|/usr/|/opt/|site-packages|[A-Z]:\\)")


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    return "\n".join(
        str(data[k]) for k in ("text/plain", "text/html", "text/markdown") if k in data
    )


def problems(notebook) -> list[str]:
    """Everything wrong with an executed notebook, as readable messages (empty if clean).

    Example:
        >>> problems(nbformat.read("notebooks/01_choosing_a_model.ipynb", as_version=4))
        []
    """
    found = []
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        found.append(f"not executed once, top to bottom (execution counts {counts})")
    if "widgets" in notebook.metadata:
        found.append("holds widget state (metadata.widgets)")
    images = 0
    for index, cell in enumerate(code):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"error output in code cell {index + 1}: {output.get('ename')}")
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                if "Traceback" in output.get("text", ""):
                    found.append(f"a traceback on stderr in code cell {index + 1}")
            match = ABSOLUTE_PATH.search(_output_text(output))
            if match:
                found.append(f"absolute path {match.group(0)!r} in code cell {index + 1}")
            images += "image/png" in output.get("data", {})
    if images == 0:
        found.append("no image output")
    if any("QUICK mode" in _output_text(o) for c in code for o in c.get("outputs", [])):
        found.append("outputs come from a quick run; commit a full run (make notebooks)")
    return found


def strip_widget_state(notebook) -> None:
    """Remove saved widget state; widget views then show their text fallback."""
    notebook.metadata.pop("widgets", None)


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    env = {**os.environ, "TLHELPERS_QUICK": os.environ.get("TLHELPERS_QUICK", "1")}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT}", str(path),
    ]  # fmt: skip
    run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=path.parent)
    assert run.returncode == 0, f"{path.name} failed under nbval:\n{run.stdout[-6000:]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert problems(notebook) == [], f"{path.name}: run `make notebooks` and commit the result"


def test_problems_catches_a_dirty_notebook() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {"state": {}}
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=2)
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="saved in /work/main/runs\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]),
    ]
    notebook.cells = [cell]
    found = " | ".join(problems(notebook))
    for expected in ("execution counts", "widget state", "error output", "/work/", "no image"):
        assert expected in found


# The line each notebook's first cell carries; the runner writes it from the runs it times.
RUN_TIME_LINE = re.compile(r"^Run time, measured.*$", re.MULTILINE)
RUN_TIME_NUMBERS = re.compile(r"full run \*\*(?P<full>[\d.]+) min\*\*.*\*\*(?P<quick>\d+) s\*\*")


def stamp_run_time(notebook, *, full_seconds: float | None = None,
                   quick_seconds: float | None = None) -> None:  # fmt: skip
    """Write the measured full and/or quick run time into the notebook's first cell.

    The value not given is kept from the line already there, so a full run followed by a
    quick run (``TLHELPERS_QUICK=1 python tests/test_notebooks.py NB``) states both.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
        >>> stamp_run_time(nb, full_seconds=200, quick_seconds=41)
        >>> nb.cells[0].source.splitlines()[-1][:58]
        'Run time, measured on a 2-core CPU: full run **3.3 min**, '
    """
    first = notebook.cells[0]
    if first.cell_type != "markdown":
        raise ValueError("The notebook's first cell must be markdown (title and run time).")
    # Kept in the notebook's metadata until both are known: a full run alone states nothing.
    measured = notebook.metadata.setdefault("tlhelpers", {}).setdefault("run_seconds", {})
    if full_seconds is not None:
        measured["full"] = round(full_seconds, 1)
    if quick_seconds is not None:
        measured["quick"] = round(quick_seconds, 1)
    if "full" not in measured or "quick" not in measured:
        return
    line = (f"Run time, measured on a 2-core CPU: full run **{measured['full'] / 60:.1f} min**, "
            f"quick mode (`TLHELPERS_QUICK=1`) **{measured['quick']:.0f} s**.")  # fmt: skip
    if RUN_TIME_LINE.search(first.source):
        first.source = RUN_TIME_LINE.sub(line, first.source)
    else:
        first.source = first.source.rstrip() + "\n\n" + line


def recorded_seconds(notebook) -> float | None:
    """Seconds from the first cell's start to the last cell's end, as the kernel recorded them.

    nbclient stores these timestamps in each code cell's ``metadata.execution``; they let a
    test check the time the first cell states against the run that made the outputs.
    """
    from datetime import datetime

    starts, ends = [], []
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(
                datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            )
            ends.append(
                datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            )
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


def execute_in_place(path: Path, timeout: int = 3600, write: bool = True) -> float:
    """Run a notebook top to bottom in its own folder, save it without widget state.

    Returns the seconds it took. Used by ``make notebooks`` (full mode); with
    ``write=False`` (quick mode) it only measures.
    """
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if write:
        strip_widget_state(notebook)
        stamp_run_time(notebook, full_seconds=seconds)
        nbformat.write(notebook, path)
    else:
        # A quick run leaves the outputs alone and only records its time in the first cell.
        committed = nbformat.read(path, as_version=4)
        stamp_run_time(committed, quick_seconds=seconds)
        nbformat.write(committed, path)
    return seconds


# Set for the kernel of a committed run: no progress widgets (a saved widget view reads as a
# frozen "0%| | 0/94"), neither tlhelpers' nor Hugging Face's.
QUIET_PROGRESS = {
    "TLHELPERS_PROGRESS": "off",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
}


def main(paths: list[str]) -> int:
    """Execute each notebook in place and report its time and any problems.

    With ``TLHELPERS_QUICK=1`` the notebooks run in quick mode and are not written: the
    run only measures the quick time that each notebook's first cell states.
    """
    import fcntl
    import resource

    os.environ.update(QUIET_PROGRESS)
    quick = os.environ.get("TLHELPERS_QUICK", "") not in ("", "0")
    # One notebook run at a time on this machine: the times they report are the ones the
    # notebooks state, and two runs sharing two cores would each measure double.
    lock = open(Path(os.environ.get("TMPDIR", "/tmp")) / "tlhelpers-notebook-run.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)

    failed = 0
    for name in paths or [str(p) for p in NOTEBOOKS]:
        path = Path(name)
        print(f"{path.name}: running ...", flush=True)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = execute_in_place(path, write=not quick)
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU time of the kernel: the wall time depends on what else the machine is doing.
        cpu = (now.ru_utime + now.ru_stime) - (used.ru_utime + used.ru_stime)
        found = [] if quick else problems(nbformat.read(path, as_version=4))
        failed += bool(found)
        status = "clean" if not found else "; ".join(found)
        print(
            f"{path.name}: {'quick' if quick else 'full'} run {seconds / 60:.2f} min wall "
            f"({seconds:.0f} s), {cpu / 60:.1f} min CPU, {status}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def test_stamp_run_time_keeps_the_other_measurement() -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\nIntro.")])
    stamp_run_time(notebook, full_seconds=200)
    assert "Run time" not in notebook.cells[0].source  # one number alone is not stated
    stamp_run_time(notebook, quick_seconds=41.4)
    stamp_run_time(notebook, full_seconds=200)
    stamp_run_time(notebook, full_seconds=272)
    source = notebook.cells[0].source
    assert source.count("Run time") == 1
    assert "full run **4.5 min**" in source and "**41 s**" in source
    assert source.startswith("# T\n\nIntro.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stated_full_time_is_the_committed_run(path: Path) -> None:
    """The full time in the first cell is the run whose outputs are committed (within 10%)."""
    notebook = nbformat.read(path, as_version=4)
    stated = RUN_TIME_NUMBERS.search(notebook.cells[0].source)
    assert stated, f"{path.name}: no run-time line; run `make notebooks` then a quick run"
    recorded = recorded_seconds(notebook)
    assert recorded is not None, f"{path.name}: no execution timestamps in the committed run"
    # The runner's time adds kernel start-up to the cells' own; allow that and rounding.
    stated_seconds = float(stated["full"]) * 60
    assert abs(stated_seconds - recorded) <= max(15.0, 0.1 * recorded), (
        f"{path.name}: first cell says {stated_seconds:.0f} s, the committed run took "
        f"{recorded:.0f} s; re-run it with `make notebooks`"
    )
