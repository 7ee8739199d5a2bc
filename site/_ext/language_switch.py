"""Sphinx extension: a link to the same page in each other language of the course site.

``tools/build_site.py`` builds each language into its own folder beside the others
(``html/en/``, ``html/ko/``) and sets ``site_languages`` (code and label of every language
built) and ``site_language`` (this build's). Each page then gets ``language_links``:
``(label, relative URL, is this page)`` for every language, rendered by
``_templates/language-switch.html`` in the article header. With one language the list is
empty and nothing shows.
"""

from __future__ import annotations


def language_links(
    pagename: str, current: str, languages: list[list[str]], pages: dict[str, list[str]]
) -> list[tuple]:
    """The links from ``pagename`` in language ``current`` to the same page in every language.

    ``pages`` lists each language's pages; where a language lacks this page (a page only
    one edition has), the link goes to that language's first page instead.

    Example:
        >>> pages = {"en": ["index", "03_retraining"], "ko": ["index", "03_retraining"]}
        >>> language_links("03_retraining", "en", [["en", "English"], ["ko", "한국어"]], pages)
        [('English', '03_retraining.html', True), ('한국어', '../ko/03_retraining.html', False)]
    """
    if len(languages) < 2:
        return []
    up = "../" * (pagename.count("/") + 1)  # from this page to the folder of all languages
    links = []
    for code, label in languages:
        if code == current:
            links.append((label, f"{pagename.rsplit('/', 1)[-1]}.html", True))
        else:
            target = pagename if pagename in pages.get(code, []) else "index"
            links.append((label, f"{up}{code}/{target}.html", False))
    return links


def add_language_links(app, pagename, templatename, context, doctree) -> None:
    config = app.config
    context["language_links"] = language_links(
        pagename, config.site_language, config.site_languages, config.site_pages
    )


def setup(app):
    app.add_config_value("site_languages", [], "html")
    app.add_config_value("site_language", "en", "html")
    app.add_config_value("site_pages", {}, "html")
    app.connect("html-page-context", add_language_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
