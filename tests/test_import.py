"""`import tlhelpers` and `import tlcourse` are fast: no heavy library loads until a name that
needs it is used; and the library never imports the course apparatus built on it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tlcourse
import tlhelpers as tl

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "sklearn", "accelerate", "matplotlib", "pandas")


@pytest.mark.parametrize("package", ["tlhelpers", "tlcourse"])
def test_import_loads_no_heavy_library(package):
    check = f"import sys, {package}; print([m for m in {HEAVY!r} if m in sys.modules])"
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


def test_every_course_name_resolves_from_its_module():
    for name in tlcourse.__all__:
        module = tlcourse._MODULE_OF[name]
        expected = getattr(__import__(f"tlcourse.{module}", fromlist=[name]), name)
        assert getattr(tlcourse, name) is expected, name
    assert set(tlcourse.__all__) <= set(dir(tlcourse))
    assert tlcourse.lab_plots.__name__ == "tlcourse.lab_plots"


def test_the_library_never_imports_the_course():
    for path in sorted((ROOT / "tlhelpers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "tlcourse" for name in imported), path.name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'figure_problems'"):
        tl.figure_problems  # noqa: B018
