"""`import tlhelpers` is fast: no heavy library loads until a name that needs it is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tlhelpers as tl

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "sklearn", "accelerate", "matplotlib", "pandas")


def test_import_loads_no_heavy_library():
    check = f"import sys, tlhelpers; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_every_public_name_resolves_from_its_module():
    for name in tl.__all__:
        value = getattr(tl, name)
        module = tl._MODULE_OF[name]
        assert value is getattr(__import__(f"tlhelpers.{module}", fromlist=[name]), name), name
    assert set(tl.__all__) <= set(dir(tl))
    assert tl.plots.__name__ == "tlhelpers.plots"  # submodules load on first use too


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'figure_problems'"):
        tl.figure_problems  # noqa: B018
