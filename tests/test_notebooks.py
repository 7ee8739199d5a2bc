"""The course notebooks run (nbval), checked outputs match, the committed copies are clean.

The tests:

- ``test_notebook_runs``: each numbered notebook is executed top to bottom by nbval
  (``--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg``, with
  a cell timeout) in a child pytest, in quick mode (``TLHELPERS_QUICK=1``, which
  ``make test`` sets and the kernel inherits). ``--nbval-lax`` fails a cell on an exception,
  and compares outputs only for the cells marked ``# NBVAL_CHECK_OUTPUT`` (issue #12).
- ``test_committed_notebook_is_clean``: the file in git carries the outputs of a full run,
  executed in order, without errors, widget state or views, stderr output or absolute paths,
  with at least one image, a first markdown cell stating the run time, and a hint and a
  solution after every exercise (see :func:`problems`).
- ``test_checked_cells_do_not_drop``: each notebook keeps at least the number of checked
  cells recorded in ``tests/notebook_checked_cells.json``.
- ``test_a_changed_checked_output_fails_nbval``: proves the comparison bites, on a copy of
  a real notebook with one checked output changed.

How to mark a cell whose output is checked
------------------------------------------
Make ``# NBVAL_CHECK_OUTPUT`` the cell's FIRST line. Mark only cells whose output is the same
in quick and full mode and on any machine (errors the course demonstrates, tokenizer pieces,
parameter counts, label mappings, config prints, file listings, the safetensors header), never
one that depends on training, data size, timing or randomness. Then run the full notebook
(``make notebooks``) so the committed output is the reference, check it under nbval (the
lock command in the briefs), and raise the notebook's number in
``tests/notebook_checked_cells.json``. A cell that must raise needs ``# NBVAL_RAISES_EXCEPTION``
instead (the course prefers to catch and print the error, which can be checked).

What nbval 0.11 compares in a checked cell (read from ``nbval/plugin.py``)
--------------------------------------------------------------------------
- Streams, by name: stdout AND stderr text are compared (after merging each stream and
  applying ``\r``/``\b``), so a warning that appears in one run and not the other fails
  the cell ("Unexpected output fields"). Committed notebooks carry no stderr at all.
- ``execute_result`` / ``display_data``: every MIME type of ``data`` is compared (text/plain,
  text/html of a DataFrame...) EXCEPT ``image/png`` and ``image/jpeg``, which nbval skips
  unless ``--nbdime`` is given. We never pass ``--nbdime``: PNG bytes differ across
  matplotlib versions, fonts and platforms, so figures are not compared pixel by pixel
  (their text/plain, e.g. ``<Figure size 900x350 with 1 Axes>``, still is). Keep figures out
  of checked cells anyway. Also skipped: metadata, execution counts, tracebacks, widget views.
- Every compared text passes through ``tests/nbval_sanitize.cfg`` first (both sides):
  timings, rates, timestamps, memory addresses, temporary paths, progress bars and version
  strings are replaced by placeholders.

Run as a script, this file is what ``make notebooks`` calls: it re-executes notebooks in
place in full mode, strips widget state, and prints each notebook's time and problems::

    python tests/test_notebooks.py notebooks/01_choosing_a_model.ipynb ...
"""

from __future__ import annotations

import json
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
TESTS_DIR = Path(__file__).resolve().parent
SANITIZE_FILE = TESTS_DIR / "nbval_sanitize.cfg"
CHECKED_CELLS_FILE = TESTS_DIR / "notebook_checked_cells.json"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# An exercise is posed by a heading or a bold line that names it ("### Exercise 2: ...",
# "**Exercise:** ..."); the plural ("## Exercises") introduces them and is not one.
EXERCISE_LINE = re.compile(r"^(#{1,6}\s.*\bExercise\b.*|\s*\*\*[^*\n]*\bExercise\b.*)$", re.M)
EXERCISES_HEADING = re.compile(r"^#{1,6}\s.*\bExercises?\b", re.IGNORECASE)
NUMBERED_ITEM = re.compile(r"^\d+[.)]\s")  # a top-level item of a numbered list
DETAILS_BLOCK = re.compile(r"<details>.*?</details>", re.DOTALL | re.IGNORECASE)
HINT_BLOCK = re.compile(r"<details>\s*<summary>\s*Hint", re.IGNORECASE)
SOLUTION_BLOCK = re.compile(r"<details>\s*<summary>\s*Solution", re.IGNORECASE)
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
                first = (output.get("text", "").strip().splitlines() or [""])[0][:80]
                found.append(
                    f"stderr output in code cell {index + 1} ({first!r}); silence it at the "
                    "source or with a targeted warnings.filterwarnings that says why"
                )
            if WIDGET_VIEW in output.get("data", {}):
                found.append(
                    f"a widget view in code cell {index + 1} (a reader sees a frozen widget); "
                    "run with the notebook runner, which turns progress widgets off"
                )
            match = ABSOLUTE_PATH.search(_output_text(output))
            if match:
                found.append(f"absolute path {match.group(0)!r} in code cell {index + 1}")
            images += "image/png" in output.get("data", {})
    if images == 0:
        found.append("no image output")
    if any("QUICK mode" in _output_text(o) for c in code for o in c.get("outputs", [])):
        found.append("outputs come from a quick run; commit a full run (make notebooks)")
    first = notebook.cells[0] if notebook.cells else None
    if first is None or first.cell_type != "markdown":
        found.append("the first cell is not markdown (the title and what the notebook does)")
    elif not RUN_TIME_LINE.search(first.source):
        found.append(
            "the first cell has no 'Run time, measured ...' line; the runner writes it after "
            "a full run and a quick run (python tests/test_notebooks.py NB, then with "
            "TLHELPERS_QUICK=1)"
        )
    found += exercise_problems(notebook)
    return list(dict.fromkeys(found))  # one message per cell, not per output


def exercise_problems(notebook) -> list[str]:
    """Exercises without a ``<details><summary>Hint`` and a ``<details><summary>Solution`` block.

    An exercise is posed by a heading or bold line naming it ("### Exercise 2: ...",
    "**Exercise 1.** ..."), or by a top-level numbered item ("1. Set ...") in a section whose
    heading names exercises ("## Exercises"); lines inside ``<details>`` blocks never pose
    one. Its text runs to the next exercise, the next heading of its section's level or
    above, or the end, across markdown cells; the hint and the solution must be in it, the
    hint first.
    """
    text, cell_at = "", []  # all markdown, and the cell number where each cell's text starts
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type == "markdown":
            cell_at.append((len(text), number))
            text += cell.source + "\n\n"
    hidden = [m.span() for m in DETAILS_BLOCK.finditer(text)]

    def visible(offset: int) -> bool:
        return not any(start <= offset < end for start, end in hidden)

    def cell_number(offset: int) -> int:
        return max(number for start, number in cell_at if start <= offset)

    starts, ends = [], [len(text)]  # exercise starts (offset, line); where sections end
    section_level, numbered = None, False
    for line in re.finditer(r"^.*$", text, re.M):
        offset, content = line.start(), line.group(0)
        if not visible(offset):
            continue
        heading = re.match(r"^(#{1,6})\s", content)
        if heading:
            level = len(heading.group(1))
            if section_level is not None and level <= section_level:
                ends.append(offset)
                section_level = None
            if EXERCISES_HEADING.match(content) and not EXERCISE_LINE.match(content):
                section_level, numbered = level, True
        if EXERCISE_LINE.match(content):
            starts.append((offset, content.strip()))
            numbered = False  # named exercises: a numbered list inside one is its steps
        elif section_level is not None and numbered and NUMBERED_ITEM.match(content):
            starts.append((offset, content.strip()))
    found = []
    for k, (offset, line) in enumerate(starts):
        end = min([e for e in ends if e > offset] + [s for s, _ in starts[k + 1 :]] + [len(text)])
        body = text[offset:end]
        hint, solution = HINT_BLOCK.search(body), SOLUTION_BLOCK.search(body)
        where = f"exercise {line.strip('#* ')[:50]!r} (cell {cell_number(offset)})"
        if not hint:
            found.append(f"{where} has no <details><summary>Hint block")
        if not solution:
            found.append(f"{where} has no <details><summary>Solution block")
        elif hint and solution.start() < hint.start():
            found.append(f"{where} shows its solution before its hint")
    return found


def checked_cells(notebook) -> list[int]:
    """Indices of the code cells whose first line is ``# NBVAL_CHECK_OUTPUT``."""
    return [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and cell.source.strip()
        and cell.source.lstrip().splitlines()[0].strip() == CHECK_MARKER
    ]


def strip_widget_state(notebook) -> None:
    """Remove saved widget state and widget views; a view keeps its plain-text form.

    Without its state a saved view can only fail to load, so the reader of a committed
    notebook gets the text that the object offers for pages without widgets (for the
    tuning panel of notebook 05, a sentence saying it is live; a picture of it sits above).
    """
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
            if output.get("output_type") in ("stream", "error") or output.get("data"):
                kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept


def test_stripping_keeps_a_widget_views_text_and_drops_the_rest():
    notebook = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    cell = nbformat.v4.new_code_cell("panel", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {}, "text/plain": "Panel"}),
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {}}),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
    ]
    notebook.cells = [cell]
    strip_widget_state(notebook)
    assert "widgets" not in notebook.metadata
    assert [o.get("data", {}).get("text/plain", o.get("text")) for o in cell.outputs] == [
        "Panel", "done\n"
    ]  # fmt: skip
    assert not any("widget" in problem for problem in problems(notebook))


def run_nbval(paths: list[Path], env: dict, cwd: Path, *extra: str):
    """Run nbval on notebooks in a child pytest: lax, current env, sanitized, cell timeout."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-current-env", f"--nbval-sanitize-with={SANITIZE_FILE}",
        f"--nbval-cell-timeout={CELL_TIMEOUT}", *extra, *[str(p) for p in paths],
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    # Progress bars off, as in a committed run: a checked cell's stderr must match.
    env = {
        **os.environ,
        **QUIET_PROGRESS,
        "TLHELPERS_QUICK": os.environ.get("TLHELPERS_QUICK", "1"),
    }
    run = run_nbval([path], env=env, cwd=path.parent)
    assert run.returncode == 0, f"{path.name} failed under nbval:\n{run.stdout[-6000:]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    found = problems(notebook)
    assert found == [], f"{path.name}: " + "; ".join(found) + " (fix, `make notebooks`, commit)"


def test_problems_catches_a_dirty_notebook() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {"state": {}}
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=2)
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="saved in /work/main/runs\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something\n"),
        nbformat.v4.new_output(
            "display_data", data={WIDGET_VIEW: {"model_id": "abc"}, "text/plain": "0%| | 0/94"}
        ),
    ]
    task = nbformat.v4.new_markdown_cell("## Exercises\n\n### Exercise 1: change the lr\nTry it.")
    notebook.cells = [cell, task]
    found = " | ".join(problems(notebook))
    for expected in (
        "execution counts", "widget state", "error output", "/work/", "no image",
        "stderr output in code cell 1 ('UserWarning: something')", "a widget view in code cell 1",
        "first cell is not markdown", "'Exercise 1: change the lr' (cell 2) has no "
        "<details><summary>Hint", "(cell 2) has no <details><summary>Solution",
    ):  # fmt: skip
        assert expected in found
    assert "'Exercises" not in found  # the section heading is not an exercise itself

    title = nbformat.v4.new_markdown_cell("# Title\n\nWhat it does.")
    old_style = nbformat.v4.new_markdown_cell(
        "## Exercises\n1. Halve the rate.\n\n   <details><summary>Answer</summary>\n\n"
        "   1. a numbered line inside an answer is not an exercise\n   </details>\n\n"
        "2. Double it.\n\n   <details><summary>Hint</summary>Look.</details>\n\n## Next\n1. no"
    )
    notebook.cells = [title, cell, old_style]
    found = problems(notebook)
    assert "no 'Run time, measured" in " | ".join(found)
    assert [f for f in found if f.startswith("exercise")] == [
        "exercise '1. Halve the rate.' (cell 3) has no <details><summary>Hint block",
        "exercise '1. Halve the rate.' (cell 3) has no <details><summary>Solution block",
        "exercise '2. Double it.' (cell 3) has no <details><summary>Solution block",
    ]


def _clean_notebook():
    title = nbformat.v4.new_markdown_cell(
        "# Title\n\nWhat it does.\n\nRun time, measured on a 2-core CPU: full run **3.1 min**, "
        "quick mode (`TLHELPERS_QUICK=1`) **40 s**."
    )
    figure = nbformat.v4.new_code_cell("fig", execution_count=1)
    picture = {"image/png": "iVBOR", "text/plain": "<Figure>"}
    figure.outputs = [nbformat.v4.new_output("display_data", data=picture)]
    exercises = [
        nbformat.v4.new_markdown_cell("## Exercises\n\n**Exercise 1.** Halve the learning rate."),
        nbformat.v4.new_markdown_cell("<details><summary>Hint</summary>Look at `lr`.</details>"),
        nbformat.v4.new_markdown_cell(
            "<details><summary>Solution</summary>\n\n```python\nlr = 1e-5\n```\n\n"
            "It learns slower.</details>\n\n### Exercise 2: a new dataset\nUse bbc-news.\n\n"
            "<details><summary>Hint</summary>`tl.load_text_dataset`</details>\n"
            "<details><summary>Solution</summary>\n\n```python\ntl.load_text_dataset('bbc-news')"
            "\n```\n</details>"
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=[title, figure, *exercises])
    return notebook


def test_problems_passes_a_clean_notebook() -> None:
    assert problems(_clean_notebook()) == []


def test_exercise_needs_its_own_hint_and_solution() -> None:
    notebook = _clean_notebook()
    # Exercise 2 loses its hint: exercise 1's hint above it does not count for it.
    notebook.cells[-1].source = notebook.cells[-1].source.replace(
        "<details><summary>Hint</summary>`tl.load_text_dataset`</details>", ""
    )
    found = problems(notebook)
    assert found == [
        "exercise 'Exercise 2: a new dataset' (cell 5) has no <details><summary>Hint block"
    ]


def test_checked_cells_do_not_drop() -> None:
    """No notebook loses ``# NBVAL_CHECK_OUTPUT`` cells without the change being deliberate."""
    recorded = json.loads(CHECKED_CELLS_FILE.read_text())
    names = {path.name for path in NOTEBOOKS}
    wrong = [f"{name} is recorded but does not exist in notebooks/" for name in
             sorted(set(recorded) - names)]  # fmt: skip
    wrong += [
        f"{name} has no entry; add it with its count" for name in sorted(names - set(recorded))
    ]
    for path in NOTEBOOKS:
        count = len(checked_cells(nbformat.read(path, as_version=4)))
        minimum = recorded.get(path.name, 0)
        if count < minimum:
            wrong.append(
                f"{path.name} has {count} checked cells, fewer than the {minimum} recorded"
            )
    assert not wrong, (
        "; ".join(wrong) + f". If a cell was unmarked on purpose, lower its number in "
        f"{CHECKED_CELLS_FILE.relative_to(TESTS_DIR.parent)}; after marking more cells, raise "
        "it to the new count (cells whose first line is `# NBVAL_CHECK_OUTPUT`)."
    )


def _tamper(cell) -> None:
    """Change a checked cell's committed output in a way no sanitizer pattern undoes."""
    for output in cell.outputs:
        if output.get("output_type") == "stream":
            output["text"] = output["text"] + "a line the real run does not print\n"
            return
        if "text/plain" in output.get("data", {}):
            output["data"]["text/plain"] = output["data"]["text/plain"] + " (tampered)"
            return
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="tampered\n"))


@pytest.mark.integration
def test_a_changed_checked_output_fails_nbval(tmp_path: Path) -> None:
    """The comparison bites: a real notebook's first checked cell, its output changed, fails.

    Cheap: only the cells up to and including the first checked cell are copied, from the
    notebook where that cell comes earliest; quick mode. The untampered copy must pass.
    """
    candidates = []
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        checked = checked_cells(notebook)
        if checked:
            before = sum(cell.cell_type == "code" for cell in notebook.cells[: checked[0]])
            candidates.append((before, path.name, notebook, checked[0]))
    assert candidates, "no notebook has a `# NBVAL_CHECK_OUTPUT` cell yet (see the docstring)"
    _, name, notebook, index = min(candidates, key=lambda c: (c[0], c[1]))
    notebook.cells = notebook.cells[: index + 1]
    untouched, tampered = tmp_path / f"untouched_{name}", tmp_path / f"tampered_{name}"
    nbformat.write(notebook, untouched)
    _tamper(notebook.cells[index])
    nbformat.write(notebook, tampered)
    env = {**os.environ, **QUIET_PROGRESS, "TLHELPERS_QUICK": "1"}

    # One nbval run for both copies (one start of pytest and nbval): the tampered copy's
    # checked cell must fail, and nothing of the untampered copy.
    run = run_nbval([untouched, tampered], env=env, cwd=tmp_path)
    failed = re.findall(r"^FAILED (\S+)", run.stdout, flags=re.MULTILINE)
    assert run.returncode != 0, f"nbval passed a changed checked output of {name}"
    assert failed and all(f.startswith(tampered.name) for f in failed), run.stdout[-4000:]
    assert "Cell outputs differ" in run.stdout, run.stdout[-4000:]


def test_sanitizer_hides_what_varies_and_keeps_what_does_not() -> None:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(SANITIZE_FILE.read_text())

    def clean(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    varying = [  # (committed, quick run): each pair must read the same after sanitizing
        ("trained in 81.2 s (54.3 tweets/s)", "trained in 3.0 s (12 tweets/s)"),
        ("took 850 ms", "took 12 ms"),
        ("4.2 min", "0.3 min"),
        ("<Thing object at 0x7f3a2c1d9e50>", "<Thing object at 0x7f0000aa0010>"),
        ("saved to /tmp/tmpab12cd/model", "saved to /tmp/tmpzz99yy/model"),
        ("Map: 100%|#####| 500/500 [00:01<00:00, 312.5 examples/s]",
         "Map: 100%|#####| 20/20 [00:00<00:00, 99.0 examples/s]"),
        ("torch 2.13.0+cpu, transformers==5.0.1", "torch 2.14.1, transformers==5.2.0"),
        ('"transformers_version": "5.0.1"', '"transformers_version": "5.1.0.dev0"'),
        ("at 2026-11-26 07:15:42", "at 2027-01-02 10:00:00"),
    ]  # fmt: skip
    for committed, quick in varying:
        assert clean(committed) == clean(quick), (committed, clean(committed), clean(quick))
    stable = ["3 seeds", "0.653", "22,713,216 parameters", "Linear(in_features=384, "
              "out_features=3, bias=True)", "{'negative': 0, 'neutral': 1}", "max_length=64",
              "10 s-shaped curves"]  # fmt: skip
    for text in stable:
        assert clean(text) == text


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
