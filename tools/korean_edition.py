"""Build the Korean edition (``ko/``) from the English notebooks and their translation files.

A Korean notebook ``ko/0N_name.ipynb`` is the English ``notebooks/0N_name.ipynb`` with every
markdown cell replaced by its Korean text from ``ko/translations/0N_name.json`` (the format is
in ``ko/README.md``). Everything else is copied unchanged: code cells with their outputs, cell
ids, execution counts and the notebook's metadata (plus a language marker). So the Korean
notebooks need no run of their own, and a test can prove their code is the English code.

A translation entry records the sha256 of the English text it translates. When an English
markdown cell changes, no entry carries its new sha256 and the translation is *stale*: the
generator refuses to write that notebook and ``--check`` names the notebook, the cell id and
the English first line, so an edited cell is never shipped with an old translation.

Usage, from the repository root::

    python tools/korean_edition.py --write   # regenerate ko/0N_*.ipynb (refuses while stale)
    python tools/korean_edition.py --check   # exit 1 naming every stale/missing/orphan
                                             # translation and every out-of-date ko/ notebook
    python tools/korean_edition.py --stale   # the cells to (re)translate, as JSON
    python tools/korean_edition.py --run-introduction  # execute ko/00 (its measurement)

``ko/00_korean_edition.ipynb`` (the Korean edition's own introduction, with a real measured
cell) is written by hand, not generated; the generator leaves it alone.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "notebooks"
KOREAN = ROOT / "ko"
TRANSLATIONS = KOREAN / "translations"
# The Korean notebooks that are written by hand (not generated from an English notebook).
KOREAN_ONLY = ("00_korean_edition.ipynb",)
INTRODUCTION = KOREAN / KOREAN_ONLY[0]

# The first cell's run-time line is written by the notebook runner (tests/test_notebooks.py)
# after every run. It is not prose to translate: a re-run must not make a translation stale,
# so it is left out of the translated text and the Korean line is generated from its numbers.
RUN_TIME_LINE = re.compile(r"^Run time, measured.*$\n?", re.MULTILINE)
RUN_TIME_NUMBERS = re.compile(r"full run \*\*(?P<full>[\d.]+) min\*\*.*\*\*(?P<quick>\d+) s\*\*")
KOREAN_RUN_TIME_LINE = re.compile(r"^실행 시간.*$\n?", re.MULTILINE)
# The "Open in Colab" badge under the title is written by tools/colab_cells.py from the one
# repository setting; like the run-time line it is not translated: the Korean notebook gets
# the same badge opening the Korean notebook (its blank line after it goes with it).
COLAB_BADGE_LINE = re.compile(
    r"^\[!\[Open In Colab\]\([^)\s]+\)\]\((?P<url>https://colab\.research\.google\.com/[^)\s]+)\)"
    r"[ \t]*\n?\n?",
    re.MULTILINE,
)
# Markdown links and images, and HTML src/href attributes, whose target is a relative path.
# (Not a URL with a scheme, such as https: or attachment:, an anchor or an absolute path.)
RELATIVE_TARGET = re.compile(r"(\]\(|src=\"|href=\")(?![A-Za-z][\w+.-]*:|#|/|\.\./)([^)\"\s]+)")


@dataclass(frozen=True)
class Problem:
    """One thing that keeps the Korean edition from being current."""

    kind: str  # "stale", "missing", "untranslated", "orphan", "out of date"
    notebook: str  # path relative to the repository root
    cell_id: str | None
    first_line: str  # the English cell's first line (what a translator looks for)

    def __str__(self) -> str:
        where = f"{self.notebook} cell {self.cell_id}" if self.cell_id else self.notebook
        what = {
            "stale": "the English cell changed since it was translated",
            "missing": "no translation",
            "untranslated": "the translation entry has no Korean text",
            "orphan": "a translation with no English cell",
            "out of date": "differs from what the generator writes (run --write)",
        }[self.kind]
        line = f": {self.first_line!r}" if self.first_line else ""
        return f"{self.kind}: {where}{line} ({what})"


def translatable_text(cell: dict, *, first: bool) -> str:
    """The English text a translation entry covers: the cell's source, without the run-time
    line in the first cell (the runner rewrites that line; the generator writes its Korean)."""
    text = "".join(cell["source"])
    if first:
        text = COLAB_BADGE_LINE.sub("", RUN_TIME_LINE.sub("", text)).rstrip()
    return text


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def notebook_json(notebook: dict) -> str:
    """The text nbformat writes for a notebook (sorted keys, indent 1, UTF-8 kept)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def translation_path(english: Path) -> Path:
    return TRANSLATIONS / f"{english.stem}.json"


def korean_path(english: Path) -> Path:
    return KOREAN / english.name


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def markdown_cells(notebook: dict) -> list[tuple[dict, str]]:
    """Each English markdown cell with the text its translation covers."""
    return [
        (cell, translatable_text(cell, first=index == 0))
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "markdown"
    ]


def match_entries(english: dict, translation: dict) -> tuple[dict[str, dict], list[Problem]]:
    """Pair each English markdown cell with the translation entry for its current text.

    An entry belongs to a cell when it has the cell's id and the sha256 of the cell's current
    text (or, for a cell whose id changed, when only the sha256 matches). Returns the entries
    by cell id and the problems: cells with no current entry (stale when an entry for an older
    text of the cell exists, else missing), entries without Korean text, and entries that
    match no cell (orphans).
    """
    notebook = translation.get("notebook", "")
    entries = translation.get("cells", [])
    by_id = {entry["id"]: entry for entry in entries}
    by_sha = {entry["source_sha256"]: entry for entry in entries}
    matched: dict[str, dict] = {}
    problems: list[Problem] = []
    for cell, text in markdown_cells(english):
        digest = sha256(text)
        entry = by_id.get(cell["id"])
        if entry is None or entry["source_sha256"] != digest:
            entry = by_sha.get(digest)
        if entry is not None and entry["source_sha256"] == digest:
            matched[cell["id"]] = entry
            if not entry.get("ko", "").strip():
                problems.append(Problem("untranslated", notebook, cell["id"], first_line(text)))
        else:
            kind = "stale" if cell["id"] in by_id else "missing"
            problems.append(Problem(kind, notebook, cell["id"], first_line(text)))
    used = {id(entry) for entry in matched.values()}
    current_ids = {cell["id"] for cell, _ in markdown_cells(english)}
    for entry in entries:
        if id(entry) not in used and entry["id"] not in current_ids:
            problems.append(Problem("orphan", notebook, entry["id"], first_line(entry["en"])))
    return matched, problems


def korean_run_time_line(english_first_cell: str) -> str | None:
    """The first cell's run-time line in Korean, with the English line's numbers."""
    numbers = RUN_TIME_NUMBERS.search(english_first_cell)
    if numbers is None:
        return None
    return (
        f"실행 시간(2코어 CPU에서 측정): 전체 실행 **{numbers['full']}분**, "
        f"빠른 모드(`TLHELPERS_QUICK=1`) **{numbers['quick']}초**."
    )


def run_introduction() -> dict[str, float]:
    """Execute ``ko/00_korean_edition.ipynb`` in place, as the runner does the English ones.

    It runs twice, in quick mode and then in full mode (whose outputs are kept), and its first
    cell states both measured times in the English notebooks' format, in Korean. Returns them.
    """
    import os
    import time

    import nbformat
    from nbclient import NotebookClient

    # Like the English notebooks: a Colab badge under the title and the guarded install cell.
    sys.path.insert(0, str(ROOT / "tools"))
    import colab_cells

    notebook = nbformat.read(INTRODUCTION, as_version=4)
    colab_cells.add_badge(notebook.cells[0], INTRODUCTION)
    colab_cells.add_colab_cell(notebook)
    nbformat.write(notebook, INTRODUCTION)
    seconds = {}
    for mode, quick in (("quick", "1"), ("full", "0")):
        notebook = nbformat.read(INTRODUCTION, as_version=4)
        client = NotebookClient(
            notebook, timeout=600, kernel_name="python3",
            resources={"metadata": {"path": str(KOREAN)}},
        )  # fmt: skip
        previous = os.environ.get("TLHELPERS_QUICK")
        os.environ["TLHELPERS_QUICK"] = quick  # the kernel inherits it
        try:
            start = time.perf_counter()
            client.execute()
            seconds[mode] = round(time.perf_counter() - start, 1)
        finally:
            if previous is None:
                os.environ.pop("TLHELPERS_QUICK")
            else:
                os.environ["TLHELPERS_QUICK"] = previous
    notebook.metadata.setdefault("tlhelpers", {})["run_seconds"] = seconds
    english_line = (
        f"full run **{seconds['full'] / 60:.1f} min**, quick mode **{seconds['quick']:.0f} s**"
    )
    first = notebook.cells[0]
    first.source = (
        KOREAN_RUN_TIME_LINE.sub("", first.source).rstrip()
        + "\n\n"
        + korean_run_time_line(english_line)
    )
    nbformat.write(notebook, INTRODUCTION)
    return seconds


def first_cell_in_korean(korean: str, english: str) -> str:
    """The translated first cell with the lines the tools write: the English cell's Colab badge
    (opening the Korean notebook) under the title, and the run time in Korean at the end."""
    korean = COLAB_BADGE_LINE.sub("", KOREAN_RUN_TIME_LINE.sub("", korean)).rstrip()
    badge = COLAB_BADGE_LINE.search(english)
    if badge:
        url = badge["url"].replace(f"/{ENGLISH.name}/", f"/{KOREAN.name}/")
        line = badge.group(0).strip().replace(badge["url"], url)
        title, _, rest = korean.partition("\n")
        korean = f"{title}\n\n{line}\n\n{rest.lstrip()}".rstrip()
    run_time = korean_run_time_line(english)
    return f"{korean}\n\n{run_time}" if run_time else korean


def point_relative_links_at_english(markdown: str, korean_names: set[str]) -> str:
    """Relative links from a Korean notebook: another notebook of the course stays a sibling
    (its Korean version), anything else (pictures) is the English notebook folder's file."""

    def retarget(match: re.Match) -> str:
        opener, target = match.groups()
        if target.split("#")[0] in korean_names:
            return match.group(0)
        return f"{opener}../notebooks/{target}"

    return RELATIVE_TARGET.sub(retarget, markdown)


def build_korean_notebook(english_path: Path, translation: dict) -> dict:
    """The Korean notebook for ``english_path``: markdown from ``translation``, all else copied.

    Raises ValueError naming every stale, missing or untranslated cell.
    """
    english = read_json(english_path)
    matched, problems = match_entries(english, translation)
    blocking = [p for p in problems if p.kind != "orphan"]
    if blocking:
        raise ValueError(
            f"{relative(english_path)}: the translation is not current:\n"
            + "\n".join(f"  {problem}" for problem in blocking)
        )
    korean_names = {path.name for path in ENGLISH.glob("[0-9][0-9]_*.ipynb")}
    korean = copy.deepcopy(english)
    for index, cell in enumerate(korean["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = point_relative_links_at_english(matched[cell["id"]]["ko"], korean_names).rstrip()
        if index == 0:
            text = first_cell_in_korean(text, "".join(english["cells"][0]["source"]))
        cell["source"] = text.splitlines(keepends=True)
    korean["metadata"].setdefault("tlhelpers", {})["edition"] = {
        "language": "ko",
        "english": relative(english_path),
        "translation": relative(translation_path(english_path)),
    }
    return korean


def english_notebooks() -> list[Path]:
    return sorted(ENGLISH.glob("[0-9][0-9]_*.ipynb"))


def edition_problems() -> list[Problem]:
    """Everything that keeps ko/ from being the current Korean edition of notebooks/."""
    problems: list[Problem] = []
    english_names = {path.name for path in english_notebooks()}
    for english_path in english_notebooks():
        source = translation_path(english_path)
        target = korean_path(english_path)
        if not source.exists():
            problems.append(Problem("missing", relative(source), None, "no translation file"))
            continue
        translation = read_json(source)
        _, found = match_entries(read_json(english_path), translation)
        problems += found
        if any(p.kind != "orphan" for p in found):
            continue
        expected = notebook_json(build_korean_notebook(english_path, translation))
        if not target.exists() or target.read_text(encoding="utf-8") != expected:
            problems.append(Problem("out of date", relative(target), None, ""))
    for path in sorted(TRANSLATIONS.glob("*.json")):
        if f"{path.stem}.ipynb" not in english_names:
            problems.append(Problem("orphan", relative(path), None, "no English notebook"))
    for path in sorted(KOREAN.glob("[0-9][0-9]_*.ipynb")):
        if path.name not in english_names and path.name not in KOREAN_ONLY:
            problems.append(Problem("orphan", relative(path), None, "no English notebook"))
    return problems


def write_edition() -> tuple[list[Path], list[Problem]]:
    """Write every Korean notebook whose translation is current; return them and the rest."""
    written, problems = [], []
    for english_path in english_notebooks():
        source = translation_path(english_path)
        if not source.exists():
            problems.append(Problem("missing", relative(source), None, "no translation file"))
            continue
        try:
            korean = build_korean_notebook(english_path, read_json(source))
        except ValueError:
            problems += [
                p for p in match_entries(read_json(english_path), read_json(source))[1]
                if p.kind != "orphan"
            ]  # fmt: skip
            continue
        target = korean_path(english_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = notebook_json(korean)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written, problems


def stale_report() -> list[dict]:
    """What needs (re)translation: one record per cell, with the current English text and,
    for a stale cell, the English text and Korean of the old translation (to diff against)."""
    report = []
    for english_path in english_notebooks():
        source = translation_path(english_path)
        english = read_json(english_path)
        translation = read_json(source) if source.exists() else {"cells": []}
        translation["notebook"] = relative(english_path)
        by_id = {entry["id"]: entry for entry in translation["cells"]}
        _, problems = match_entries(english, translation)
        texts = {cell["id"]: text for cell, text in markdown_cells(english)}
        for problem in problems:
            record = asdict(problem)
            if problem.kind == "orphan":
                record["old_en"] = by_id[problem.cell_id]["en"]
            else:
                record["en"] = texts[problem.cell_id]
                record["source_sha256"] = sha256(texts[problem.cell_id])
            if problem.kind == "stale":
                record["old_en"] = by_id[problem.cell_id]["en"]
                record["old_ko"] = by_id[problem.cell_id]["ko"]
            report.append(record)
    return report


def translation_entry(cell: dict, ko: str, *, first: bool) -> dict:
    """The entry that translates the English ``cell`` (as it is now) into ``ko``."""
    text = translatable_text(cell, first=first)
    return {"id": cell["id"], "source_sha256": sha256(text), "en": text, "ko": ko}


def set_translation(translation: dict, english: dict, cell_id: str, ko: str) -> None:
    """Record ``ko`` as the translation of the English cell ``cell_id`` as it is now, keeping
    the entries in notebook order (how a translator marks a re-translated cell current)."""
    cells = english["cells"]
    index = next(i for i, cell in enumerate(cells) if cell["id"] == cell_id)
    entry = translation_entry(cells[index], ko, first=index == 0)
    entries = [e for e in translation["cells"] if e["id"] != cell_id] + [entry]
    order = {cell["id"]: i for i, cell in enumerate(cells)}
    translation["cells"] = sorted(entries, key=lambda e: order.get(e["id"], len(order)))


def write_translation(path: Path, translation: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(translation, indent=1, ensure_ascii=False) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate ko/0N_*.ipynb")
    mode.add_argument("--check", action="store_true", help="exit 1 if ko/ is not current")
    mode.add_argument("--stale", action="store_true", help="print what to (re)translate, JSON")
    mode.add_argument(
        "--run-introduction", action="store_true", help="execute ko/00 (its measurement) in place"
    )
    args = parser.parse_args(argv)
    if args.run_introduction:
        seconds = run_introduction()
        print(f"ran {relative(INTRODUCTION)}: full {seconds['full']} s, quick {seconds['quick']} s")
        return 0
    if args.stale:
        print(json.dumps(stale_report(), indent=1, ensure_ascii=False))
        return 0
    if args.write:
        written, problems = write_edition()
        for path in written:
            print(f"wrote {relative(path)}")
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    problems = edition_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} problem(s). `python tools/korean_edition.py --stale` lists the "
            "cells to translate; then `--write`.",
            file=sys.stderr,
        )
        return 1
    print("The Korean edition is current.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
