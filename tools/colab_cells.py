"""Make every notebook open and run in Colab: badges, an install cell, embedded pictures.

For each numbered notebook in ``notebooks/`` this script makes sure that

1. the first (markdown) cell has an "Open in Colab" badge right under its title;
2. the first code cell is the Colab install cell (:data:`CELL_ID`): it runs
   ``%pip install`` of the course package only when ``google.colab`` is imported, that is
   only inside Colab, and does nothing on your machine, on Binder or under nbval. It comes
   before any import, so the packages it installs are the ones imported;
3. every picture a markdown cell shows by a relative path (``images/tuning_panel.png``)
   is embedded in that cell as an attachment (``attachment:tuning_panel.png``), because
   Colab opens the notebook alone, without the repository's other files. JupyterLab, GitHub
   and Colab all show attachments, offline too; the site build writes them back to files.
   An attachment whose file still exists in ``notebooks/images/`` is kept equal to it.

and that the README's Binder badge and its course map's Colab badges point at the
repository named in ``tools/course_links.py`` (the one setting).

It is idempotent: a second ``--apply`` changes nothing. Other edits to the notebooks are
left alone, so after a merge the result can simply be re-applied::

    python tools/colab_cells.py --apply   # rewrite the notebooks and the README
    python tools/colab_cells.py --check   # exit 1 and name what is out of date (the tests)

Inserting the install cell into an executed notebook gives it the execution record a run
gives it (it prints nothing outside Colab): no outputs and execution count 1, every later
code cell's count moved up by one, so the notebook still reads as run once, top to bottom.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course_links import (  # noqa: E402
    BINDER_LINK,
    COLAB_LINK,
    binder_badge,
    colab_badge,
    pip_requirement,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
IMAGE_DIR = NOTEBOOK_DIR / "images"
README = ROOT / "README.md"
CELL_ID = "colab-install"  # a fixed id, so that the cell is found again (and merges cleanly)
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".svg": "image/svg+xml"}  # fmt: skip

# A markdown line that is (only) a Colab badge, whatever repository it points at.
COLAB_BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)[ \t]*\n?", re.M)
BINDER_BADGE = re.compile(r"\[!\[Binder\]\([^)]*\)\]\((?P<url>[^)]*)\)")
# A markdown image with a relative path: ![alt](images/x.png), not http(s):, data: or attachment:.
RELATIVE_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<path>(?![a-z]+:)[^)\s]+)\)")
ATTACHED_IMAGE = re.compile(r"!\[[^\]]*\]\(attachment:(?P<name>[^)\s]+)\)")


def notebooks() -> list[Path]:
    """The course's numbered notebooks, in order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def relative_path(path: Path) -> str:
    """``path`` relative to the repository root, with forward slashes (as URLs need)."""
    return path.resolve().relative_to(ROOT).as_posix()


def colab_cell_source() -> str:
    """The install cell's code. ``%pip`` installs into the running kernel's environment."""
    return (
        "# Colab only: install the course package (the model and both datasets come with it).\n"
        "# Anywhere else (your machine, Binder, the tests) this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f"    %pip install --quiet {pip_requirement()}"
    )


def is_colab_cell(cell) -> bool:
    """True for the Colab install cell (found by its id)."""
    return cell.get("id") == CELL_ID


def add_badge(first_cell, notebook_path: Path) -> None:
    """Put the notebook's Colab badge on its own line right after the title line."""
    source = COLAB_BADGE_LINE.sub("", first_cell.source)
    title, _, rest = source.partition("\n")
    badge = colab_badge(relative_path(notebook_path))
    first_cell.source = f"{title}\n\n{badge}\n\n{rest.lstrip(chr(10))}".rstrip("\n")


def add_colab_cell(notebook) -> None:
    """Make the Colab install cell the notebook's second cell (right after the first markdown)."""
    source = colab_cell_source()
    removed = [cell for cell in notebook.cells if is_colab_cell(cell)]
    if len(removed) == 1 and notebook.cells.index(removed[0]) == 1:
        removed[0].source = source
        return
    notebook.cells = [cell for cell in notebook.cells if not is_colab_cell(cell)]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    executed = bool(code) and all(isinstance(c.get("execution_count"), int) for c in code)
    if executed and not removed:
        # Recorded as a run records it: count 1, no output (outside Colab it prints nothing).
        for cell in code:
            cell.execution_count += 1
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = cell.execution_count
    if removed:  # it was elsewhere: moved, with its own execution record
        cell = removed[0]
        cell.source = source
    else:
        cell = nbformat.v4.new_code_cell(source, execution_count=1 if executed else None)
        cell.id = CELL_ID
    notebook.cells.insert(1, cell)


def attachment(path: Path) -> dict[str, str]:
    """A picture file as a notebook attachment: {mime type: base64 of its bytes}."""
    return {IMAGE_TYPES[path.suffix.lower()]: base64.b64encode(path.read_bytes()).decode()}


def embed_pictures(cell, where: str, folder: Path) -> list[str]:
    """Turn a markdown cell's relative picture links into attachments, kept equal to their files.

    ``folder`` is the notebook's folder; returns the problems it cannot fix (a linked
    picture that does not exist), each starting with ``where``.
    """
    problems = []

    def attach(match: re.Match) -> str:
        path = (folder / match["path"]).resolve()
        if not path.is_file() or path.suffix.lower() not in IMAGE_TYPES:
            problems.append(f"{where}: no picture {match['path']}")
            return match.group(0)
        cell.setdefault("attachments", {})[path.name] = attachment(path)
        return f"![{match['alt']}](attachment:{path.name})"

    cell.source = RELATIVE_IMAGE.sub(attach, cell.source)
    # An attachment taken from notebooks/images/ follows that file when it is retaken.
    for name in ATTACHED_IMAGE.findall(cell.source):
        path = IMAGE_DIR / name
        if path.is_file() and path.suffix.lower() in IMAGE_TYPES:
            cell.setdefault("attachments", {})[name] = attachment(path)
    return problems


def updated_notebook(path: Path) -> tuple[str, list[str]]:
    """The notebook's text with badge, install cell and attachments in place, and problems."""
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0] if notebook.cells else None
    if first is None or first.cell_type != "markdown":
        return path.read_text(), [f"{path.name}: the first cell must be markdown (the title)"]
    add_badge(first, path)
    add_colab_cell(notebook)
    problems = []
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type == "markdown":
            problems += embed_pictures(cell, f"{path.name} cell {number}", path.parent)
    return nbformat.writes(notebook) + "\n", problems


def updated_readme(text: str) -> str:
    """The README with its Binder badge and its course map's Colab column generated."""
    text = BINDER_BADGE.sub(
        lambda m: (
            binder_badge(BINDER_LINK.match(m["url"])["path"])
            if BINDER_LINK.match(m["url"])
            else m.group(0)
        ),
        text,
    )
    lines = text.split("\n")
    for index, line in enumerate(lines):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| notebook |"):
            if cells[-1] != "Colab":
                lines[index] = line.rstrip() + " Colab |"
                lines[index + 1] = lines[index + 1].rstrip() + "---|"
            continue
        row = re.fullmatch(r"`(\d\d_\w+)`", cells[0]) if line.startswith("|") else None
        if not row or not (NOTEBOOK_DIR / f"{row[1]}.ipynb").exists():
            continue
        badge = colab_badge(f"notebooks/{row[1]}.ipynb")
        if COLAB_LINK.search(cells[-1]):
            cells[-1] = badge
        else:
            cells.append(badge)
        lines[index] = "| " + " | ".join(cells) + " |"
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--apply", action="store_true", help="rewrite notebooks and README")
    mode.add_argument("--check", action="store_true", help="only report (the default)")
    apply = parser.parse_args(argv).apply

    stale, problems = [], []
    for path in notebooks():
        text, found = updated_notebook(path)
        problems += found
        if text != path.read_text():
            stale.append(path)
            if apply:
                path.write_text(text)
    readme = updated_readme(README.read_text())
    if readme != README.read_text():
        stale.append(README)
        if apply:
            README.write_text(readme)

    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    names = ", ".join(relative_path(p) for p in stale)
    if apply:
        print(f"updated: {names}" if stale else "everything was up to date")
    elif stale:
        print(
            f"out of date: {names}\n(run `python tools/colab_cells.py --apply` and commit)",
            file=sys.stderr,
        )
    return 1 if problems or (stale and not apply) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
