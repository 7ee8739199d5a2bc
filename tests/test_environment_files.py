"""No drift: pyproject.toml, environment.yml and binder/environment.yml list the same packages.

pyproject.toml is the source of truth (its runtime dependencies plus the `notebooks` extra);
the two conda files must name the same packages with the same lower bounds, so that a
learner on Binder, on conda or on pip gets the same course.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_FILES = ["environment.yml", "binder/environment.yml"]

# conda-forge names that differ from the PyPI names in pyproject.toml. pytorch-cpu pins the
# CPU build (the CUDA one is several GB); matplotlib-base leaves out the Qt GUI toolkit.
CONDA_NAME_FOR = {"torch": "pytorch-cpu", "matplotlib": "matplotlib-base"}
PYPI_NAME_FOR = {conda: pypi for pypi, conda in CONDA_NAME_FOR.items()}

# A conda match spec as written in our files: a name, then an optional version constraint.
CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<version>.*)$")


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Runtime and notebook dependencies of pyproject.toml, by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["notebooks"]
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r.specifier for r in requirements}


def load_conda_file(relative_path: str) -> dict:
    """The parsed YAML of a conda environment file."""
    return yaml.safe_load((ROOT / relative_path).read_text())


def conda_requirements(environment: dict) -> dict[str, SpecifierSet]:
    """Conda and pip packages of an environment file, under their PyPI names.

    `python` and `pip` are the environment's tools, not course dependencies, and pip
    options such as `--editable .` install the course itself; all three are left out.
    """
    found: dict[str, SpecifierSet] = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                if line.startswith("-"):
                    continue
                requirement = Requirement(line)
                found[canonicalize_name(requirement.name)] = requirement.specifier
            continue
        match = CONDA_SPEC.match(entry.strip())
        assert match, f"cannot read conda spec {entry!r}"
        name = match["name"]
        if name in {"python", "pip"}:
            continue
        found[canonicalize_name(PYPI_NAME_FOR.get(name, name))] = SpecifierSet(match["version"])
    return found


def describe_drift(expected: dict[str, SpecifierSet], actual: dict[str, SpecifierSet]) -> str:
    """A readable list of what differs between two requirement sets."""
    lines = []
    for name in sorted(expected.keys() - actual.keys()):
        lines.append(f"missing: {name}{expected[name]}")
    for name in sorted(actual.keys() - expected.keys()):
        lines.append(f"not in pyproject.toml: {name}{actual[name]}")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            lines.append(f"version differs: {name} {actual[name]} (pyproject: {expected[name]})")
    return "\n".join(lines)


@pytest.mark.parametrize("relative_path", CONDA_FILES)
def test_conda_file_names_the_same_dependencies_as_pyproject(relative_path):
    expected = pyproject_requirements()
    actual = conda_requirements(load_conda_file(relative_path))
    drift = describe_drift(expected, actual)
    assert not drift, f"{relative_path} has drifted from pyproject.toml:\n{drift}"


@pytest.mark.parametrize("relative_path", CONDA_FILES)
def test_conda_file_installs_cpu_torch_from_conda_forge(relative_path):
    environment = load_conda_file(relative_path)
    assert environment["channels"][0] == "conda-forge"
    # Without nodefaults, conda may mix in packages from the Anaconda defaults channel.
    assert "nodefaults" in environment["channels"]
    conda_names = [
        CONDA_SPEC.match(entry)["name"]
        for entry in environment["dependencies"]
        if isinstance(entry, str)
    ]
    assert "pytorch-cpu" in conda_names
    pip_lines = [
        line
        for entry in environment["dependencies"]
        if isinstance(entry, dict)
        for line in entry["pip"]
    ]
    assert not any(line.startswith("torch") for line in pip_lines), (
        "torch from pip inside a conda environment would pull the multi-GB CUDA build"
    )


@pytest.mark.parametrize("relative_path", CONDA_FILES)
def test_conda_python_satisfies_requires_python(relative_path):
    environment = load_conda_file(relative_path)
    pythons = [
        entry
        for entry in environment["dependencies"]
        if isinstance(entry, str) and entry.startswith("python=")
    ]
    assert len(pythons) == 1, "pin exactly one python=X.Y (repo2docker reads it to pick a base)"
    version = pythons[0].removeprefix("python=")
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    assert version in SpecifierSet(requires_python)


def test_local_conda_environment_installs_the_course_package():
    pip_lines = [
        line
        for entry in load_conda_file("environment.yml")["dependencies"]
        if isinstance(entry, dict)
        for line in entry["pip"]
    ]
    assert "--editable ." in pip_lines


def test_reader_rejects_a_drifted_file():
    # The comparison itself must notice a missing package, an extra one and a changed bound.
    environment = {
        "dependencies": ["python=3.12", "pytorch-cpu>=2.0", "pip", {"pip": ["extra-pkg>=1"]}]
    }
    drift = describe_drift(pyproject_requirements(), conda_requirements(environment))
    assert "missing: transformers" in drift
    assert "not in pyproject.toml: extra-pkg>=1" in drift
    assert "version differs: torch >=2.0" in drift
