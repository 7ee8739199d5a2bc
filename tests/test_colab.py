"""Open in Colab: badges point at real notebooks of the one repository; the install cell is inert.

``tools/course_links.py`` holds the repository (owner/name) once; ``tools/colab_cells.py``
generates the badges and each notebook's Colab install cell from it. These tests check the
committed README and notebooks against both, and prove that the install cell does nothing
outside Colab (under ``make test`` and nbval it runs, and must not touch pip) without ever
running pip: the cell's code is executed with a stand-in for IPython's ``get_ipython()``
that records the magics it is asked to run.
"""

from __future__ import annotations

import copy
import shlex
import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import colab_cells  # noqa: E402
import course_links  # noqa: E402
from course_links import REPOSITORY  # noqa: E402

NOTEBOOKS = colab_cells.notebooks()
LINKS = {"Colab": course_links.COLAB_LINK, "Binder": course_links.BINDER_LINK}


def links_in(text: str) -> list[tuple[str, str, str]]:
    """Every Colab and Binder link in ``text``: (kind, repository, notebook path)."""
    return [
        (kind, match["repository"], match["path"])
        for kind, pattern in LINKS.items()
        for match in pattern.finditer(text)
    ]


def committed_texts() -> dict[str, str]:
    """The README and every notebook's markdown, by file name."""
    texts = {"README.md": (ROOT / "README.md").read_text()}
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        texts[path.name] = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    return texts


def test_notebooks_and_readme_are_up_to_date(capsys):
    assert NOTEBOOKS, "no notebooks found"
    code = colab_cells.main(["--check"])
    assert code == 0, capsys.readouterr().err


def test_every_badge_opens_an_existing_notebook_of_the_configured_repository():
    texts = committed_texts()
    found = {name: links_in(text) for name, text in texts.items()}
    wrong = [
        f"{name}: {kind} link to {repository}/{path}"
        for name, links in found.items()
        for kind, repository, path in links
        if repository != course_links.REPOSITORY or not (ROOT / path).is_file()
    ]
    assert not wrong, (
        "badges that do not open a notebook of "
        + course_links.REPOSITORY
        + (":\n" + "\n".join(wrong))
    )
    # Each notebook links to itself from its first cell; the README has one per notebook.
    for path in NOTEBOOKS:
        first = nbformat.read(path, as_version=4).cells[0].source
        assert course_links.colab_badge(f"notebooks/{path.name}") in first, path.name
    readme_colab = {p for kind, _, p in found["README.md"] if kind == "Colab"}
    assert readme_colab == {f"notebooks/{p.name}" for p in NOTEBOOKS}
    assert any(kind == "Binder" for kind, _, _ in found["README.md"])


def test_link_reader_sees_a_wrong_owner_and_a_missing_notebook():
    text = (
        "[![Open In Colab](x)](https://colab.research.google.com/github/someone/else/blob/main/"
        "notebooks/01_choosing_a_model.ipynb) "
        f"[![Binder](y)]({course_links.binder_url('notebooks/99_missing.ipynb')})"
    )
    assert links_in(text) == [
        ("Colab", "someone/else", "notebooks/01_choosing_a_model.ipynb"),
        ("Binder", course_links.REPOSITORY, "notebooks/99_missing.ipynb"),
    ]


class RecordingShell:
    """Stands in for IPython's shell: records the magics the cell runs, runs none."""

    def __init__(self):
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def run_cell(source: str, in_colab: bool) -> list[tuple[str, str]]:
    """Execute a cell's code as IPython would, in or out of Colab; return the magics it ran."""
    python = TransformerManager().transform_cell(source)  # %pip -> get_ipython().run_line_magic
    shell = RecordingShell()
    saved = sys.modules.pop("google.colab", None)
    if in_colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    try:
        exec(compile(python, "<colab cell>", "exec"), {"get_ipython": lambda: shell})
    finally:
        sys.modules.pop("google.colab", None)
        if saved is not None:
            sys.modules["google.colab"] = saved
    return shell.magics


def colab_cell(path: Path):
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if colab_cells.is_colab_cell(c)]
    assert len(cells) == 1, f"{path.name}: expected one Colab install cell, found {len(cells)}"
    return notebook, cells[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_cell_comes_first_and_installs_only_inside_colab(path):
    notebook, cell = colab_cell(path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert notebook.cells.index(cell) == 1 and code[0] is cell, "it must run before any import"
    assert cell.source == colab_cells.colab_cell_source()
    assert "google.colab" not in sys.modules, "the test runs outside Colab"
    assert run_cell(cell.source, in_colab=False) == []  # locally, Binder, nbval: nothing
    assert run_cell(cell.source, in_colab=True) == [
        ("pip", f"install --quiet {course_links.pip_requirement()}")
    ]
    # pip gets exactly one thing to install, the configured repository.
    arguments = shlex.split(run_cell(cell.source, in_colab=True)[0][1])
    assert arguments == ["install", "--quiet", f"git+https://github.com/{REPOSITORY}@main"]
    # Executed as a run records it: nothing printed, counted first.
    assert cell.outputs == [] and cell.execution_count in (1, None)


def test_apply_inserts_the_cell_once_and_keeps_the_run_order(tmp_path, monkeypatch):
    # A copy of a real notebook without the Colab cell: apply adds it, a second apply is a no-op.
    source = NOTEBOOKS[0]
    notebook = nbformat.read(source, as_version=4)
    notebook.cells = [c for c in notebook.cells if not colab_cells.is_colab_cell(c)]
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in enumerate(code, 1):
        cell.execution_count = number
    folder = tmp_path / "notebooks"
    folder.mkdir()
    copied = folder / source.name
    nbformat.write(notebook, copied)
    monkeypatch.setattr(colab_cells, "ROOT", tmp_path)

    first, problems = colab_cells.updated_notebook(copied)
    assert not problems
    copied.write_text(first)
    again, _ = colab_cells.updated_notebook(copied)
    assert again == first, "a second apply changed the notebook"
    result = nbformat.reads(first, as_version=4)
    counts = [c.execution_count for c in result.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(code) + 2))
    assert colab_cells.is_colab_cell(result.cells[1])
    assert result.cells[0].source.count("Open In Colab") == 1


def test_relative_picture_becomes_an_attachment_equal_to_its_file(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    (folder / "images").mkdir(parents=True)
    picture = (ROOT / "notebooks" / "images" / "tuning_panel.png").read_bytes()
    (folder / "images" / "panel.png").write_bytes(picture)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 09 · Test\n\nIntro."),
            nbformat.v4.new_markdown_cell("See ![the panel](images/panel.png)."),
        ]
    )
    path = folder / "09_test.ipynb"
    nbformat.write(notebook, path)
    monkeypatch.setattr(colab_cells, "ROOT", tmp_path)
    text, problems = colab_cells.updated_notebook(path)
    assert not problems
    cell = nbformat.reads(text, as_version=4).cells[2]
    assert cell.source == "See ![the panel](attachment:panel.png)."
    import base64

    assert base64.b64decode(cell.attachments["panel.png"]["image/png"]) == picture


def test_readme_badges_are_regenerated_for_another_owner(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    monkeypatch.setattr(course_links, "REPOSITORY", "someone/fork")
    updated = colab_cells.updated_readme(copy.copy(readme))
    repositories = {repository for _, repository, _ in links_in(updated)}
    assert repositories == {"someone/fork"}
