"""Binder builds what we think it builds: repo2docker reads binder/, not the repository root.

`jupyter-repo2docker --no-build` writes the Dockerfile it would build without needing a
Docker engine, so the test can read the real build plan that mybinder.org would follow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def repo2docker_executable() -> str | None:
    """The repo2docker command installed beside this Python, or on PATH."""
    beside = Path(sys.executable).with_name("jupyter-repo2docker")
    return str(beside) if beside.exists() else shutil.which("jupyter-repo2docker")


@pytest.fixture(scope="module")
def build_plan() -> str:
    """repo2docker's log and generated Dockerfile for this repository."""
    executable = repo2docker_executable()
    if executable is None:
        pytest.skip('jupyter-repo2docker is not installed: pip install -e ".[dev]"')
    # An explicit non-root user: repo2docker defaults to the caller's id, and CI runs as root.
    command = [
        executable,
        "--no-build",
        "--debug",
        "--user-id", "1000",
        "--user-name", "jovyan",
        str(ROOT),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"repo2docker failed:\n{output[-3000:]}"
    return output


def test_repo2docker_uses_the_binder_conda_environment(build_plan):
    assert "Building conda environment for python=3.12" in build_plan
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in build_plan
    # The root environment.yml is for local conda users; Binder must not read it.
    assert '--file "environment.yml"' not in build_plan


def test_repo2docker_runs_postbuild_and_start(build_plan):
    assert "RUN ./binder/postBuild" in build_plan
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in build_plan


def test_postbuild_installs_the_course_package_without_dependencies():
    # repo2docker does not install the repository itself when binder/ exists, so postBuild
    # must; --no-deps keeps pip from replacing conda's CPU torch with a CUDA build.
    script = (BINDER / "postBuild").read_text()
    install_lines = [line for line in script.splitlines() if "pip install" in line]
    assert install_lines, "binder/postBuild does not pip install the course package"
    assert all("--no-deps" in line and line.rstrip().endswith(" .") for line in install_lines)


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_binder_scripts_are_executable_bash(name):
    script = BINDER / name
    assert os.access(script, os.X_OK), f"binder/{name} is not executable (chmod +x)"
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_start_switches_quick_mode_on_and_runs_the_server_command():
    # start must hand over to the command it is given (the Jupyter server) with quick mode
    # on, a thread count that fits the container's CPU quota and the memory setting.
    names = ["TLHELPERS_QUICK", "OMP_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_"]
    probe = "echo " + " ".join(f"${name}" for name in names)
    environment = {key: value for key, value in os.environ.items() if key not in names}
    environment["CPU_LIMIT"] = "2.0"
    result = subprocess.run(
        [str(BINDER / "start"), "bash", "-c", probe],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert result.stdout.split() == ["1", "2", "65536"]
