"""Build the course website from the committed notebooks, offline: ``make site``.

jupyter-book 1 (Sphinx) renders each numbered notebook with its committed outputs (nothing
is executed), plus a landing page and a page on the library whose text comes from the
README (one source for both). The steps, for each language of :data:`LANGUAGES` whose
notebooks exist:

1. stage a Sphinx source folder in ``site/_build/src/<code>/``: the notebooks, with the
   Colab install cell hidden (a reader of the site does not run it), pictures embedded as
   cell attachments written back to files (myst-nb does not read attachments), and the
   badge images replaced by local copies from ``site/badges/``; the pages of
   ``site/<code>/`` with each ``<!-- README: Heading -->`` line replaced by that README
   section and ``<!-- COURSE MAP -->`` by a table made from the notebooks (titles, measured
   run times, Colab badges); ``_config.yml`` and ``_toc.yml`` written from
   :func:`book_config`;
2. ``jupyter-book build --warningiserror`` (the languages side by side): any warning fails
   the build;
3. move the HTML to ``site/_build/html/<code>/`` and check that no page loads anything
   from another host (:func:`external_loads`) and no link leads to a missing file
   (:func:`broken_links`).

``site/_build/html/`` then holds one folder per language, an ``index.html`` that opens the
first language, and ``.nojekyll`` (GitHub Pages would otherwise hide ``_static/``). Serve it
as it is::

    python tools/build_site.py                     # or: make site
    python -m http.server -d site/_build/html      # http://localhost:8000

Languages: each :class:`Language` of :data:`LANGUAGES` names its notebooks folder, the README
its pages quote and its ``site/<code>/`` pages; one whose folder has no notebooks yet (the
Korean edition, ``ko/``, until it lands) is left out. With two or more, every page links to
the same page in the other languages (``site/_ext/language_switch.py``).
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from colab_cells import ATTACHED_IMAGE, is_colab_cell  # noqa: E402
from course_links import BINDER_BADGE_IMAGE, COLAB_BADGE_IMAGE, colab_badge  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
OUTPUT = SITE / "_build"
# The badge pictures are the only images the notebooks and README load from the internet;
# the site shows its own copies (links stay as they are: a link loads nothing).
LOCAL_BADGES = {COLAB_BADGE_IMAGE: "badges/colab.svg", BINDER_BADGE_IMAGE: "badges/binder.svg"}
README_MARKER = re.compile(r"^<!-- README: (?P<heading>.+?) -->$", re.M)
# jupyter-book's command line (its `jupyter-book` script), run by this Python.
JUPYTER_BOOK = "import sys; from jupyter_book.cli.main import main; sys.exit(main())"
NOTEBOOK_NAME = re.compile(r"`(?P<stem>\d\d_\w+)`")


@dataclass(frozen=True)
class Language:
    """One language edition of the course: where its notebooks, README and pages are."""

    code: str  # the folder in the built site, and Sphinx's `language`
    label: str  # the language switch shows this
    notebooks: Path
    readme: Path
    pages: Path  # index.md and library.md, with <!-- README: ... --> markers


LANGUAGES = [
    Language("en", "English", ROOT / "notebooks", ROOT / "README.md", SITE / "en"),
    # The Korean edition (ko/, generated from the English notebooks and a translation file);
    # built as soon as ko/ holds notebooks. Its library page quotes the English README.
    Language("ko", "한국어", ROOT / "ko", ROOT / "README.md", SITE / "ko"),
]
TITLE = {"en": "Transfer learning for text classification", "ko": "텍스트 분류를 위한 전이 학습"}
# The columns of a generated course map (<!-- COURSE MAP -->), in each language.
COURSE_MAP_COLUMNS = {
    "en": ("notebook", "full / quick run", "Colab"),
    "ko": ("노트북", "전체 실행 / 빠른 모드", "Colab"),
}
COURSE_MAP_MARKER = "<!-- COURSE MAP -->"


def notebooks_of(language: Language) -> list[Path]:
    return sorted(language.notebooks.glob("[0-9][0-9]_*.ipynb"))


def readme_section(readme: str, heading: str) -> str:
    """The README's ``## heading`` section (its heading and text up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", readme, re.M | re.S)
    if not match:
        raise SystemExit(f"The README has no section '## {heading}' (a site page includes it).")
    return match.group(0).rstrip() + "\n"


def local_badges(markdown: str) -> str:
    """Markdown with the badge pictures replaced by the site's own copies."""
    for remote, local in LOCAL_BADGES.items():
        markdown = markdown.replace(f"]({remote})", f"]({local})")
    return markdown


def notebook_title(path: Path) -> str:
    """The notebook's title: the first line of its first cell, without the ``#``."""
    first = nbformat.read(path, as_version=4).cells[0].source
    return first.split("\n", 1)[0].lstrip("# ").strip()


def run_time(path: Path) -> str:
    """The notebook's measured full and quick run times, from its metadata (the runner's)."""
    seconds = nbformat.read(path, as_version=4).metadata.get("tlhelpers", {}).get("run_seconds")
    if not seconds or "full" not in seconds or "quick" not in seconds:
        return "–"  # not measured (yet)
    return f"{seconds['full'] / 60:.1f} min / {seconds['quick']:.0f} s"


def course_map(language: Language, notebooks: list[Path]) -> str:
    """A course map table from the notebooks themselves: title (a link), run times, Colab."""
    name, times, colab = COURSE_MAP_COLUMNS.get(language.code, COURSE_MAP_COLUMNS["en"])
    rows = [f"| {name} | {times} | {colab} |", "|---|---|---|"]
    for path in notebooks:
        badge = colab_badge(path.resolve().relative_to(ROOT).as_posix())
        rows.append(f"| [{notebook_title(path)}]({path.stem}.ipynb) | {run_time(path)} | {badge} |")
    return "\n".join(rows)


def page_text(template: str, readme: str, notebooks: list[Path], language: Language) -> str:
    """A page template with its README sections and course map filled in, notebooks linked."""
    titles = {path.stem: notebook_title(path) for path in notebooks}
    template = template.replace(COURSE_MAP_MARKER, course_map(language, notebooks))

    def section(match: re.Match) -> str:
        text = readme_section(readme, match["heading"])
        # In the course map, `01_choosing_a_model` becomes a link to the notebook's page.
        return NOTEBOOK_NAME.sub(
            lambda m: f"[{titles[m['stem']]}]({m['stem']}.ipynb)" if m["stem"] in titles
            else m.group(0),
            text,
        )  # fmt: skip

    return local_badges(README_MARKER.sub(section, template))


def stage_notebook(path: Path, source: Path) -> None:
    """Write the notebook as the site shows it into the Sphinx source folder ``source``."""
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells, 1):
        if is_colab_cell(cell):
            # Colab's install cell is for running the notebook, not for reading it.
            cell.metadata.setdefault("tags", []).append("remove-cell")
        if cell.cell_type != "markdown":
            continue
        for name in ATTACHED_IMAGE.findall(cell.source):
            data = cell.get("attachments", {}).get(name)
            if not data:
                raise SystemExit(f"{path.name} cell {number}: no attachment {name!r}")
            file = f"attachments/{path.stem}-{number}-{name}"
            (source / file).parent.mkdir(exist_ok=True)
            (source / file).write_bytes(base64.b64decode(next(iter(data.values()))))
            cell.source = cell.source.replace(f"(attachment:{name})", f"({file})")
        cell.pop("attachments", None)
        cell.source = local_badges(cell.source)
    nbformat.write(notebook, source / path.name)


def extensions() -> list[str]:
    """jupyter-book's Sphinx extensions without Thebe, plus the site's own.

    sphinx-thebe (live code through Binder) writes its settings script twice into every
    page, a console error; the site runs nothing, so it is left out. sphinx-mathjax-offline
    serves MathJax from the site; language_switch is site/_ext/language_switch.py.
    """
    from jupyter_book.config import get_default_sphinx_config

    left_out = {"sphinx_thebe"}
    default = get_default_sphinx_config()["extensions"]
    return [name for name in default if name not in left_out] + [
        "sphinx-mathjax-offline",
        "language_switch",
    ]


def book_config(language: Language) -> dict:
    """jupyter-book's ``_config.yml``: no execution, no launch buttons, nothing remote."""
    return {
        "title": TITLE.get(language.code, TITLE["en"]),
        "author": "the tlhelpers course",
        "copyright": "",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},  # the committed outputs are the content
        # Launch and Thebe buttons would put Binder/Colab machinery on every page; the
        # notebooks carry their own Colab badge, and the landing page says how to run.
        "launch_buttons": {
            "notebook_interface": "classic",
            "binderhub_url": "",
            "jupyterhub_url": "",
            "thebe": False,
            "colab_url": "",
        },
        "html": {
            "use_repository_button": False,
            "use_issues_button": False,
            "use_edit_page_button": False,
            "home_page_in_navbar": True,
        },
        "sphinx": {
            "local_extensions": {"language_switch": "./_ext"},  # puts _ext on sys.path
            "config": {
                "extensions": extensions(),
                "language": language.code,
                "site_language": language.code,
                "site_languages": [[lang.code, lang.label] for lang in built_languages()],
                "site_pages": {lang.code: page_names(lang) for lang in built_languages()},
                "templates_path": ["_templates"],
                "html_static_path": ["_static"],
                "html_css_files": ["site.css"],
                "html_theme_options": {
                    "article_header_end": ["language-switch", "article-header-buttons"],
                    "use_download_button": True,
                },
                # Light or dark as the reader's system is (unset, the theme logs an error).
                "html_context": {"default_mode": "auto"},
                "html_show_copyright": False,
                "html_show_sphinx": False,
                # MathJax 3 from the site itself (sphinx-mathjax-offline copies it in).
                "mathjax_path": "mathjax/tex-chtml.js",
                # No require.js from a CDN: committed notebooks keep no widget state.
                "nb_ipywidgets_js": {},
            },
        },
    }


def page_names(language: Language) -> list[str]:
    """The pages of a language's site, as Sphinx names them (no suffix)."""
    return ["index", "library", "genindex", "search"] + [p.stem for p in notebooks_of(language)]


def built_languages() -> list[Language]:
    """The languages whose notebooks exist (a language is added before its notebooks are)."""
    return [language for language in LANGUAGES if notebooks_of(language)]


def stage(language: Language, source: Path) -> None:
    """Fill the Sphinx source folder of one language."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    notebooks = notebooks_of(language)
    for path in notebooks:
        stage_notebook(path, source)
    for folder in ("badges", "_static", "_templates", "_ext"):
        shutil.copytree(SITE / folder, source / folder)
    readme = language.readme.read_text()
    for name in ("index.md", "library.md"):
        template = language.pages / name
        if not template.is_file():
            raise SystemExit(f"{template} is missing: every language needs index.md, library.md")
        (source / name).write_text(page_text(template.read_text(), readme, notebooks, language))
    toc = {
        "format": "jb-book",
        "root": "index",
        "chapters": [{"file": path.stem} for path in notebooks] + [{"file": "library"}],
    }
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (source / "_config.yml").write_text(
        yaml.safe_dump(book_config(language), sort_keys=False, allow_unicode=True)
    )


class _Loads(HTMLParser):
    """Collects the addresses a page loads by itself: scripts, styles, pictures, frames."""

    LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src",
               "video": "src", "audio": "src", "embed": "src", "object": "data"}  # fmt: skip

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        relations = set((attributes.get("rel") or "").split())
        if tag == "link" and relations & {"stylesheet", "preload", "icon", "modulepreload"}:
            self.urls.append(attributes.get("href") or "")
        elif tag in self.LOADING:
            self.urls.append(attributes.get(self.LOADING[tag]) or "")
            self.urls += [part.split()[0] for part in (attributes.get("srcset") or "").split(",")
                          if part.strip()]  # fmt: skip


class _Links(HTMLParser):
    """Collects the targets of a page's links (``<a href>``)."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def broken_links(html: Path) -> dict[str, list[str]]:
    """Links between the site's own files that lead nowhere, by page (empty: none)."""
    found = {}
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.relative_to(html).parts:
            continue  # Sphinx's template snippets, not pages
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        missing = []
        for href in parser.hrefs:
            if re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", href):
                continue  # another site, mail, or a place on this page
            target = (page.parent / href.split("#")[0].split("?")[0]).resolve()
            if not target.exists():
                missing.append(href)
        if missing:
            found[page.relative_to(html).as_posix()] = sorted(set(missing))
    return found


def external_loads(html: Path) -> dict[str, list[str]]:
    """Addresses on other hosts that the built pages would load, by page (empty: none).

    Links (``<a href>``) are not loads and are allowed; CSS ``url(...)`` to other hosts
    are included.
    """
    found = {}
    for page in sorted(html.rglob("*.html")):
        parser = _Loads()
        parser.feed(page.read_text(errors="replace"))
        remote = [u for u in parser.urls if re.match(r"^(https?:)?//", u.strip())]
        if remote:
            found[page.relative_to(html).as_posix()] = remote
    for sheet in sorted(html.rglob("*.css")):
        remote = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", sheet.read_text())
        if remote:
            found[sheet.relative_to(html).as_posix()] = remote
    return found


def build(output: Path = OUTPUT) -> Path:
    """Build every language into ``output/html``; returns that folder."""
    languages = built_languages()
    if not languages:
        raise SystemExit("No notebooks found: nothing to build.")
    html = output / "html"
    if html.exists():
        shutil.rmtree(html)
    html.mkdir(parents=True)
    # Each language is its own jupyter-book build; they run side by side.
    builds = []
    for language in languages:
        source, work = output / "src" / language.code, output / "jupyter-book" / language.code
        stage(language, source)
        if work.exists():
            shutil.rmtree(work)
        command = [sys.executable, "-c", JUPYTER_BOOK, "build", str(source), "--builder",
                   "html", "--path-output", str(work), "--warningiserror",
                   "--keep-going"]  # fmt: skip
        log = output / f"build-{language.code}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        builds.append((language, work, log, process))
    for language, work, log, process in builds:
        process.wait()
        text = log.read_text()
        if process.returncode != 0 or "WARNING" in text:
            raise SystemExit(
                f"jupyter-book failed or warned for {language.code}: see {log}\n{text[-4000:]}"
            )
        (work / "_build" / "html").rename(html / language.code)
    first = languages[0].code
    (html / "index.html").write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={first}/index.html">'
        f"<title>{TITLE['en']}</title></head>\n"
        f'<body><a href="{first}/index.html">{TITLE["en"]}</a></body></html>\n'
    )
    (html / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and _images/ too
    remote = external_loads(html)
    if remote:
        raise SystemExit(f"Pages load from other hosts: {remote}")
    broken = broken_links(html)
    if broken:
        raise SystemExit(f"Links to pages or files that do not exist: {broken}")
    return html


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build the course website (offline).")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: site/_build")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    html = build(arguments.output)
    pages = len(list(html.rglob("*.html")))
    print(f"built {html} ({pages} pages) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
