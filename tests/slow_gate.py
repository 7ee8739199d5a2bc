"""A pytest plugin: tests marked ``slow`` run only when asked for.

Asked for means a ``-m`` expression that selects them (``-m slow``) or ``TLHELPERS_SLOW=1``.
With ``-m "not slow"`` (what ``make test`` runs) pytest deselects them itself; with no ``-m``
at all, a plain ``pytest tests/`` skips them with a reason instead of running for minutes.
The decision is pytest's own evaluation of the expression, not a search for the word "slow"
in it (``"not slow"`` contains that word too).
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr") or os.environ.get("TLHELPERS_SLOW"):
        return  # an explicit -m decides (pytest deselects what it does not select)
    skip = pytest.mark.skip(reason="slow: run with -m slow (or TLHELPERS_SLOW=1)")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)
