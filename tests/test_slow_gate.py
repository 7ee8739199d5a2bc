"""The slow-test gate (tests/slow_gate.py) decides by pytest's own -m evaluation."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SLOW_AND_FAST = """
import pytest

@pytest.mark.slow
def test_slow():
    pass

def test_fast():
    pass
"""


@pytest.mark.parametrize(
    ("args", "environment", "outcomes"),
    [
        (["-m", "not slow"], {}, {"passed": 1, "deselected": 1}),  # what `make test` runs
        (["-m", "slow"], {}, {"passed": 1, "deselected": 1}),
        ([], {}, {"passed": 1, "skipped": 1}),  # no -m: skipped, with the reason
        ([], {"TLHELPERS_SLOW": "1"}, {"passed": 2}),
    ],
    ids=["not-slow", "slow", "no-m", "env"],
)
def test_slow_tests_run_only_when_asked_for(pytester, monkeypatch, args, environment, outcomes):
    monkeypatch.delenv("TLHELPERS_SLOW", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    pytester.makeini("[pytest]\nmarkers =\n    slow: a long test\n")
    pytester.makepyfile(SLOW_AND_FAST)
    result = pytester.runpytest_inprocess("-p", "slow_gate", "-p", "no:cacheprovider", "-rs", *args)
    result.assert_outcomes(**outcomes)
    if "skipped" in outcomes:  # -rs prints the reason of each skip
        result.stdout.fnmatch_lines(["*slow: run with -m slow (or TLHELPERS_SLOW=1)*"])
