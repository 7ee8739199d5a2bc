"""The Korean edition (``ko/``) is the English course with Korean prose, and stays current.

- The Korean notebooks' code cells and outputs are the English ones, so CI runs the code
  once (the English notebooks) and the Korean edition shows the same results.
- A changed English markdown cell makes its translation stale: the check fails naming the
  notebook, the cell id and the English first line, and passes once the entry is updated.
- The committed ``ko/`` notebooks are exactly what ``tools/korean_edition.py --write`` writes.
- The Korean introduction's measured cell (MiniLM's tokenizer on Hangul) prints what its
  committed output says.

No test here needs the network or runs a notebook.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import korean_edition as edition  # noqa: E402  (tools/ is not a package)

TRANSLATED = [
    path for path in edition.english_notebooks() if edition.translation_path(path).exists()
]
INTRO = edition.KOREAN / "00_korean_edition.ipynb"


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_korean_code_cells_and_outputs_are_the_english_ones(english_path: Path) -> None:
    english, korean = read(english_path), read(edition.korean_path(english_path))
    assert [(c["id"], c["cell_type"]) for c in korean["cells"]] == [
        (c["id"], c["cell_type"]) for c in english["cells"]
    ], "the Korean notebook's cells are not the English cells in the same order"
    for english_cell, korean_cell in zip(english["cells"], korean["cells"], strict=True):
        if english_cell["cell_type"] == "code":
            # The whole cell: source, outputs (figures included), execution count, metadata.
            assert korean_cell == english_cell, f"code cell {english_cell['id']} differs"
        else:
            assert korean_cell["source"] != english_cell["source"], (
                f"markdown cell {english_cell['id']} is not translated"
            )
    metadata = json.loads(json.dumps(korean["metadata"]))
    assert metadata["tlhelpers"].pop("edition")["language"] == "ko"
    assert metadata == english["metadata"]
    assert (korean["nbformat"], korean["nbformat_minor"]) == (
        english["nbformat"],
        english["nbformat_minor"],
    )


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_committed_korean_notebook_is_what_the_generator_writes(english_path: Path) -> None:
    translation = read(edition.translation_path(english_path))
    expected = edition.notebook_json(edition.build_korean_notebook(english_path, translation))
    committed = edition.korean_path(english_path).read_text(encoding="utf-8")
    assert committed == expected, (
        f"{edition.korean_path(english_path).name} is not what the generator writes: "
        "run `python tools/korean_edition.py --write`"
    )


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_translation_file_is_current(english_path: Path) -> None:
    translation = read(edition.translation_path(english_path))
    _, problems = edition.match_entries(read(english_path), translation)
    assert not problems, "\n".join(map(str, problems))
    assert translation["notebook"] == edition.relative(english_path)


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_translation_keeps_every_english_number(english_path: Path) -> None:
    """Numbers stay exactly as in English (a Korean sentence may add its own, e.g. 3분의 1)."""
    wrong = []
    for entry in read(edition.translation_path(english_path))["cells"]:
        dropped = Counter(NUMBER.findall(entry["en"])) - Counter(NUMBER.findall(entry["ko"]))
        if dropped:
            wrong.append(f"cell {entry['id']}: {sorted(dropped)} not in the Korean text")
    assert not wrong, "\n".join(wrong)


CODE_BLOCK = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
COMMENT = re.compile(r"(^|\s)#\s.*$", re.M)


def code_without_comments(markdown: str) -> list[str]:
    """The code blocks of a markdown text, with their ``# comments`` (which are translated)
    and trailing spaces removed."""
    return [
        "\n".join(line.rstrip() for line in COMMENT.sub("", block).splitlines())
        for block in CODE_BLOCK.findall(markdown)
    ]


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_code_blocks_in_the_korean_text_are_the_english_code(english_path: Path) -> None:
    """Solutions' code stays as in English; only its comments are translated."""
    wrong = [
        f"cell {entry['id']}: a code block differs from the English one (beyond its comments)"
        for entry in read(edition.translation_path(english_path))["cells"]
        if code_without_comments(entry["ko"]) != code_without_comments(entry["en"])
    ]
    assert not wrong, "\n".join(wrong)


def test_code_without_comments_keeps_code_and_drops_only_comments() -> None:
    english = "```python\nx = 1  # one\nprint('#tag')\n```"
    korean = "```python\nx = 1  # 하나\nprint('#tag')\n```"
    assert (
        code_without_comments(english) == code_without_comments(korean) == ["x = 1\nprint('#tag')"]
    )
    assert code_without_comments("```python\nx = 2  # 하나\n```") != code_without_comments(english)


def stray_emphasis_marks(markdown: str) -> int:
    """How many ``*`` a Markdown renderer leaves as text (outside code): emphasis that did not
    close. Korean needs care here: ``**굵게**입니다`` renders, but ``**(굵게)**입니다`` does
    not (a closing ``**`` after punctuation must be followed by a space or punctuation)."""
    from markdown_it import MarkdownIt  # myst-parser's Markdown parser (jupyter-book's)

    html = MarkdownIt("commonmark").render(markdown)
    return re.sub(r"<code>.*?</code>", "", html, flags=re.S).count("*")


@pytest.mark.parametrize("english_path", TRANSLATED, ids=[p.stem for p in TRANSLATED])
def test_korean_emphasis_renders(english_path: Path) -> None:
    wrong = [
        f"cell {entry['id']}: an unclosed * or ** in the Korean text"
        for entry in read(edition.translation_path(english_path))["cells"]
        if stray_emphasis_marks(entry["ko"]) > stray_emphasis_marks(entry["en"])
    ]
    assert not wrong, "\n".join(wrong)


def test_stray_emphasis_marks_finds_korean_bold_that_does_not_close() -> None:
    assert stray_emphasis_marks("**헤드: 노이즈 범위 안(within noise)**입니다.") == 4
    assert stray_emphasis_marks("**헤드의 차이는 노이즈 범위 안(within noise)입니다.**") == 0
    assert stray_emphasis_marks("`a ** b`는 거듭제곱입니다.") == 0


@pytest.fixture
def course_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of notebook 01, its translation and its Korean notebook; the generator's folders
    pointed at it, so the test edits files without touching the repository."""
    name = "01_choosing_a_model"
    for folder in ("notebooks", "ko", "ko/translations"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy(edition.ENGLISH / f"{name}.ipynb", tmp_path / "notebooks")
    shutil.copy(edition.KOREAN / f"{name}.ipynb", tmp_path / "ko")
    shutil.copy(edition.TRANSLATIONS / f"{name}.json", tmp_path / "ko/translations")
    monkeypatch.setattr(edition, "ROOT", tmp_path)
    monkeypatch.setattr(edition, "ENGLISH", tmp_path / "notebooks")
    monkeypatch.setattr(edition, "KOREAN", tmp_path / "ko")
    monkeypatch.setattr(edition, "TRANSLATIONS", tmp_path / "ko/translations")
    return tmp_path / "notebooks" / f"{name}.ipynb"


def run_check() -> tuple[int, str]:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        code = edition.main(["--check"])
    return code, errors.getvalue()


def test_a_changed_english_cell_is_stale_until_its_translation_is_updated(course_copy) -> None:
    assert run_check() == (0, "")
    english = read(course_copy)
    cell = next(c for c in english["cells"][1:] if c["cell_type"] == "markdown")
    cell["source"] = ["## Settings, revised\n"] + cell["source"][1:]
    course_copy.write_text(edition.notebook_json(english), encoding="utf-8")

    code, message = run_check()
    assert code == 1
    assert "stale: notebooks/01_choosing_a_model.ipynb" in message
    assert f"cell {cell['id']}" in message and "'## Settings, revised'" in message
    with pytest.raises(ValueError, match=cell["id"]):
        edition.build_korean_notebook(course_copy, read(edition.translation_path(course_copy)))
    (stale,) = edition.stale_report()
    assert (stale["kind"], stale["cell_id"]) == ("stale", cell["id"])
    assert stale["en"].startswith("## Settings, revised") and stale["old_ko"].startswith("## 설정")

    # The translator updates the entry; the Korean notebook is then out of date until written.
    translation_file = edition.translation_path(course_copy)
    translation = read(translation_file)
    edition.set_translation(translation, english, cell["id"], "## 설정 (개정)\n바꿀 값은 이 셀에.")
    edition.write_translation(translation_file, translation)
    code, message = run_check()
    assert code == 1 and "out of date: ko/01_choosing_a_model.ipynb" in message
    assert edition.main(["--write"]) == 0
    assert run_check() == (0, "")
    korean = read(edition.korean_path(course_copy))
    (revised,) = [c for c in korean["cells"] if c["id"] == cell["id"]]
    assert "".join(revised["source"]).startswith("## 설정 (개정)")


def test_a_rerun_changes_only_the_korean_run_time(course_copy) -> None:
    """The runner rewrites the first cell's run-time line after every run; that is not a
    translation to redo, and the Korean line takes the new numbers."""
    english = read(course_copy)
    first = english["cells"][0]
    text = edition.RUN_TIME_LINE.sub(
        "Run time, measured on a 2-core CPU: full run **9.9 min**, quick mode "
        "(`TLHELPERS_QUICK=1`) **77 s**.",
        "".join(first["source"]),
    )
    first["source"] = text.splitlines(keepends=True)
    course_copy.write_text(edition.notebook_json(english), encoding="utf-8")
    code, message = run_check()
    assert code == 1 and "out of date" in message and "stale:" not in message
    assert edition.main(["--write"]) == 0
    korean = "".join(read(edition.korean_path(course_copy))["cells"][0]["source"])
    assert korean.endswith("전체 실행 **9.9분**, 빠른 모드(`TLHELPERS_QUICK=1`) **77초**.")
    assert korean.count("실행 시간") == 1 and "Run time" not in korean


def test_a_colab_badge_under_the_title_is_not_a_translation_to_redo(course_copy) -> None:
    """tools/colab_cells.py puts an "Open in Colab" badge under each title; the Korean
    notebook gets the same badge, opening the Korean notebook, and no translation goes stale."""
    badge = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/owner/course/blob/main/notebooks/"
        "01_choosing_a_model.ipynb)"
    )
    english = read(course_copy)
    title, _, rest = "".join(english["cells"][0]["source"]).partition("\n")
    english["cells"][0]["source"] = f"{title}\n\n{badge}\n\n{rest.lstrip()}".splitlines(True)
    course_copy.write_text(edition.notebook_json(english), encoding="utf-8")
    code, message = run_check()
    assert code == 1 and "out of date" in message and "stale:" not in message
    assert edition.main(["--write"]) == 0
    korean = "".join(read(edition.korean_path(course_copy))["cells"][0]["source"])
    assert korean.splitlines()[:3] == [
        "# 01 · 사전 학습된 모델 고르기",
        "",
        badge.replace("/notebooks/", "/ko/"),
    ]
    assert korean.count("colab-badge.svg") == 1


def test_a_new_cell_is_missing_and_a_removed_one_is_an_orphan(course_copy) -> None:
    english = read(course_copy)
    index = next(i for i, c in enumerate(english["cells"]) if i and c["cell_type"] == "markdown")
    removed = english["cells"].pop(index)
    english["cells"].insert(3, {"cell_type": "markdown", "id": "newcell1", "metadata": {},
                                "source": ["A new paragraph.\n"]})  # fmt: skip
    course_copy.write_text(edition.notebook_json(english), encoding="utf-8")
    code, message = run_check()
    assert code == 1
    assert "missing: notebooks/01_choosing_a_model.ipynb cell newcell1: 'A new para" in message
    assert f"orphan: notebooks/01_choosing_a_model.ipynb cell {removed['id']}" in message


def test_relative_links_point_at_the_english_pictures_and_the_korean_notebooks() -> None:
    text = (
        "![패널](images/tuning_panel.png) [02](02_replacing_the_head.ipynb#top) "
        "[HF](https://huggingface.co) ![그림](attachment:panel.png) [위](#top)"
    )
    assert edition.point_relative_links_at_english(text, {"02_replacing_the_head.ipynb"}) == (
        "![패널](../notebooks/images/tuning_panel.png) [02](02_replacing_the_head.ipynb#top) "
        "[HF](https://huggingface.co) ![그림](attachment:panel.png) [위](#top)"
    )


def test_the_korean_edition_is_current() -> None:
    """Every English notebook has a current translation and Korean notebook, nothing orphaned
    (what `python tools/korean_edition.py --check` checks)."""
    problems = edition.edition_problems()
    assert not problems, "\n".join(map(str, problems))


def test_the_introductions_course_map_names_each_korean_notebook_by_its_title() -> None:
    intro = "".join(read(INTRO)["cells"][0]["source"])
    links = dict(
        (target, text) for text, target in re.findall(r"\[([^\]]+)\]\((\d\d_\w+\.ipynb)\)", intro)
    )
    titles = {
        path.name: read(path)["cells"][0]["source"][0].lstrip("# ").strip()
        for path in sorted(edition.KOREAN.glob("0[1-9]_*.ipynb"))
    }
    assert links == titles


def test_every_korean_notebook_opens_itself_in_colab() -> None:
    """Each Korean notebook's badge opens the Korean notebook (of the configured repository),
    and its first code cell is the Colab install cell, as in the English notebooks."""
    import colab_cells
    import course_links

    for path in sorted(edition.KOREAN.glob("[0-9][0-9]_*.ipynb")):
        notebook = read(path)
        first = "".join(notebook["cells"][0]["source"])
        assert course_links.colab_badge(f"ko/{path.name}") in first, path.name
        assert first.count("colab-badge.svg") == 1, path.name
        install = notebook["cells"][1]
        assert install["id"] == colab_cells.CELL_ID, path.name
        assert "".join(install["source"]) == colab_cells.colab_cell_source(), path.name


def code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


@pytest.mark.integration
def test_the_hangul_measurement_prints_its_committed_output(monkeypatch) -> None:
    """The Korean introduction's measurement is a real run: its code, run now, prints exactly
    the committed output (the tokenizer is deterministic and embedded, so no network)."""
    monkeypatch.chdir(INTRO.parent)
    namespace: dict = {}
    for cell in code_cells(read(INTRO)):
        if cell["id"] == "colab-install":
            continue  # Colab's install cell (a no-op here: tests/test_colab.py)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile("".join(cell["source"]), str(INTRO), "exec"), namespace)
        committed = "".join(
            "".join(output["text"]) for output in cell["outputs"] if output.get("name") == "stdout"
        )
        assert printed.getvalue() == committed, f"cell {cell['id']} printed something else"
    outputs = [output for cell in code_cells(read(INTRO)) for output in cell["outputs"]]
    assert outputs and not any(output.get("name") == "stderr" for output in outputs)
