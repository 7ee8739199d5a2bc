"""Where the course lives on GitHub, and every link that is built from it: the ONE place.

The Colab and Binder badges (README and each notebook's first cell) and the Colab install
cell are generated from :data:`REPOSITORY` by ``tools/colab_cells.py --apply``; the test
``tests/test_colab.py`` fails when any of them names another repository or a notebook that
does not exist. A fork changes :data:`REPOSITORY` (and :data:`BRANCH`), then runs::

    python tools/colab_cells.py --apply

Example:
    >>> colab_url("notebooks/01_choosing_a_model.ipynb")  # doctest: +ELLIPSIS
    'https://colab.research.google.com/github/tlhelpers/transfer-learning-course/blob/main/...'
"""

from __future__ import annotations

import re

REPOSITORY = "tlhelpers/transfer-learning-course"  # GitHub owner/name
BRANCH = "main"  # what Colab opens and pip installs; Binder builds HEAD (the default branch)

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"

# A Colab or Binder link to a notebook of some repository, as the badges write it.
COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/(?P<repository>[^/\s]+/[^/\s]+)"
    r"/blob/(?P<branch>[^/\s]+)/(?P<path>[^)\s\"']+)"
)
BINDER_LINK = re.compile(
    r"https://mybinder\.org/v2/gh/(?P<repository>[^/\s]+/[^/\s]+)/(?P<branch>[^?\s]+)"
    r"\?urlpath=lab/tree/(?P<path>[^)\s\"']+)"
)


def colab_url(path: str) -> str:
    """The Colab address that opens ``path`` (relative to the repository root)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def binder_url(path: str) -> str:
    """The Binder address that opens ``path`` in JupyterLab (Binder builds the HEAD commit)."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/{path}"


def colab_badge(path: str) -> str:
    """Markdown for an "Open in Colab" badge that opens ``path``."""
    return f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({colab_url(path)})"


def binder_badge(path: str) -> str:
    """Markdown for a Binder badge that opens ``path``."""
    return f"[![Binder]({BINDER_BADGE_IMAGE})]({binder_url(path)})"


def pip_requirement() -> str:
    """What Colab installs: the course package, as pip's one-word form of a Git repository.

    One word (no spaces), so that ``%pip install`` passes it to pip as a single argument.
    """
    return f"git+https://github.com/{REPOSITORY}@{BRANCH}"
