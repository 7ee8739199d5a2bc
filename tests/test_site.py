"""The course website: it builds offline without warnings, and every page works in a browser.

``tools/build_site.py`` (``make site``) renders the committed notebooks with jupyter-book;
a warning fails the build. Here the site is built into a temporary folder, checked for
pages that would load anything from another host, then served on 127.0.0.1 and every page
is opened in headless Chromium (the browser helper of ``tests/test_browser.py``): each must
load with all its pictures decoded, without console errors, and without one request
leaving the machine (any such request is blocked and reported).
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from test_browser import chromium_page, free_port, skip_without_chromium

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "site" / "_ext"))

import build_site  # noqa: E402
from language_switch import language_links  # noqa: E402

# JavaScript run in the page: the pictures that did not load (each made eager and awaited,
# so that a lazy picture below the fold is checked too).
BROKEN_IMAGES_JS = """async () => {
    const images = Array.from(document.images);
    await Promise.all(images.map(async image => {
        image.loading = 'eager';
        try { await image.decode(); } catch (error) {}
    }));
    return images.filter(i => !(i.complete && i.naturalWidth > 0))
        .map(i => i.getAttribute('src'));
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built from the committed notebooks into a temporary folder: its html/."""
    return build_site.build(tmp_path_factory.mktemp("site"))


def site_pages(html: Path) -> list[str]:
    """Every page of the site, relative to html/ (Sphinx's template snippets in _static aside)."""
    return sorted(
        page.relative_to(html).as_posix()
        for page in html.rglob("*.html")
        if "_static" not in page.relative_to(html).parts
    )


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1, as a static host would; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.mark.integration
def test_site_has_every_notebook_its_figures_and_hidden_solutions(site):
    english = site / "en"
    notebooks = build_site.notebooks_of(build_site.LANGUAGES[0])
    expected = ["index.html", "library.html"] + [f"{path.stem}.html" for path in notebooks]
    assert all((english / name).is_file() for name in expected), sorted(
        p.name for p in english.glob("*.html")
    )
    for path in notebooks:
        page = (english / f"{path.stem}.html").read_text()
        figures = sum(
            "image/png" in output.get("data", {})
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code"
            for output in cell.outputs
        )
        assert page.count('src="_images/') >= figures, f"{path.name}: figures missing"
        assert "google.colab" not in page, f"{path.name}: the Colab install cell is shown"
        assert 'src="_images/colab.svg"' in page, f"{path.name}: no local Colab badge"
    tuning = (english / "05_tuning_with_widgets.html").read_text()
    assert "tuning_panel.png" in tuning, "05 does not show the tuning panel's picture"
    assert any(
        "<details>" in (english / f"{path.stem}.html").read_text()
        and "<summary>Solution" in (english / f"{path.stem}.html").read_text()
        for path in notebooks
    ), "no collapsed solution rendered"
    landing = (english / "index.html").read_text()
    for path in notebooks:
        assert f'href="{path.stem}.html"' in landing, f"the course map has no link to {path.stem}"
    assert build_site.external_loads(site) == {}
    assert build_site.broken_links(site) == {}
    assert (site / ".nojekyll").is_file()


def browser_problems(html: Path, pages: list[str]) -> list[str]:
    """Open each page of the site in ``html`` in headless Chromium; what went wrong, by page."""
    problems = []
    with serving(html) as base, chromium_page(width=1280, height=900) as page:
        errors: list[str] = []
        remote: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))

        def block_remote(route):
            if route.request.url.startswith((base, "data:", "blob:", "about:")):
                route.continue_()
            else:
                remote.append(route.request.url)
                route.abort()

        page.route("**/*", block_remote)
        for name in pages:
            errors.clear()
            remote.clear()
            response = page.goto(f"{base}/{name}", wait_until="load")
            page.wait_for_load_state("networkidle")
            broken = page.evaluate(BROKEN_IMAGES_JS)
            if response is None or not response.ok:
                problems.append(f"{name}: HTTP {response and response.status}")
            if broken:
                problems.append(f"{name}: pictures that did not load: {broken}")
            if errors:
                problems.append(f"{name}: console errors: {errors}")
            if remote:
                problems.append(f"{name}: requests to other hosts: {remote}")
    return problems


@pytest.mark.integration
def test_every_page_loads_in_chromium_with_its_pictures_and_nothing_remote(site):
    skip_without_chromium()
    pages = site_pages(site)
    assert len(pages) >= 10, pages
    problems = browser_problems(site, pages)
    print(f"{len(pages)} pages checked in Chromium")
    assert not problems, "\n".join(problems)


def test_external_loads_finds_scripts_styles_and_pictures_from_other_hosts(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/f.css">'
        '<img src="_images/local.png"><a href="https://example.org">a link loads nothing</a>'
    )
    (tmp_path / "b.css").write_text("body { background: url('https://example.org/i.png') }")
    assert build_site.external_loads(tmp_path) == {
        "a.html": ["https://cdn.example.org/x.js", "//fonts.example.org/f.css"],
        "b.css": ["https://example.org/i.png"],
    }


def test_language_switch_links_the_same_page_in_the_other_language():
    languages = [["en", "English"], ["ko", "한국어"]]
    pages = {"en": ["index", "03_retraining"], "ko": ["index", "00_intro", "03_retraining"]}
    assert language_links("03_retraining", "ko", languages, pages) == [
        ("English", "../en/03_retraining.html", False),
        ("한국어", "03_retraining.html", True),
    ]
    # A page only one edition has: the switch opens the other edition's first page.
    assert language_links("00_intro", "ko", languages, pages)[0] == (
        "English", "../en/index.html", False
    )  # fmt: skip
    assert language_links("index", "en", languages[:1], pages) == []  # one language: no switch


def test_broken_links_finds_a_link_to_a_missing_page(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "index.html").write_text(
        '<a href="02.html#top">exists</a><a href="../ko/02.html">missing</a>'
        '<a href="https://example.org">elsewhere</a><a href="#here">here</a>'
    )
    (tmp_path / "en" / "02.html").write_text("")
    assert build_site.broken_links(tmp_path) == {"en/index.html": ["../ko/02.html"]}


def test_readme_sections_the_pages_include_exist():
    readme = (ROOT / "README.md").read_text()
    for language in build_site.LANGUAGES:
        for template in sorted(language.pages.glob("*.md")):
            for heading in build_site.README_MARKER.findall(template.read_text()):
                assert build_site.readme_section(readme, heading).startswith(f"## {heading}")
