"""The Makefile builds venvs of CPython 3.13 only: a PYTHON313 of another version, or none, is refused.

Every check runs the real `make` in this tree: `check-python` runs the same check as every recipe
that builds a venv, and `install` runs against a throwaway VENV= so the project's .venv is never
touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.template import ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not on PATH")
REFUSED = "not 3.13 (the Lambda runtime): e.g. 'pyenv install 3.13', or make PYTHON313=/path/to/python3.13"
NONE_FOUND = "Python 3.13 (the Lambda runtime) is needed: e.g. 'pyenv install 3.13', or make PYTHON313="
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def make(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`make` in this tree, free of what a calling make or the environment would pass down."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON313", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if path is not None:
        env["PATH"] = path
    assert MAKE is not None
    command = [MAKE, "--no-print-directory", "-C", str(ROOT), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def version_of(python: str) -> tuple[int, int] | None:
    try:
        found = subprocess.run(
            [python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except OSError:
        return None
    if found.returncode != 0:
        return None
    major, minor = found.stdout.split()
    return int(major), int(minor)


def other_python() -> tuple[str, tuple[int, int]]:
    """A Python 3 on this machine that is not 3.13 (the system's, or one of pyenv's)."""
    candidates = ["/usr/bin/python3", "/usr/bin/python3.12", "/usr/bin/python3.11", "/usr/local/bin/python3"]
    candidates += sorted(glob.glob(str(PYENV_ROOT / "versions" / "3.1[0-2]*" / "bin" / "python3")), reverse=True)
    for python in candidates:
        version = version_of(python) if Path(python).exists() else None
        if version is not None and version[0] == 3 and version != (3, 13):
            return python, version
    pytest.skip("no Python 3 other than 3.13 on this machine")


def test_a_python_of_another_version_is_refused_with_its_version_named():
    python, (major, minor) = other_python()
    result = make("check-python", f"PYTHON313={python}")
    assert result.returncode != 0
    assert f"PYTHON313={python} is Python {major}.{minor}, {REFUSED}" in result.stderr


def test_a_path_that_is_no_python_is_refused(tmp_path):
    missing = tmp_path / "python3.13"
    result = make("check-python", f"PYTHON313={missing}")
    assert result.returncode != 0
    assert f"PYTHON313={missing} does not run as a Python" in result.stderr
    assert NONE_FOUND in result.stderr


def test_an_empty_python313_gives_the_none_found_message():
    result = make("check-python", "PYTHON313=")
    assert result.returncode != 0
    assert NONE_FOUND in result.stderr


def test_the_project_venv_python_313_is_accepted():
    python = str(ROOT / ".venv" / "bin" / "python")
    if version_of(python) != (3, 13):
        pytest.skip(".venv/bin/python is not Python 3.13 (`make install`)")
    result = make("check-python", f"PYTHON313={python}")
    assert result.returncode == 0, result.stderr
    assert f"PYTHON313={python} is Python 3.13" in result.stdout


def test_with_no_python313_given_a_fresh_clone_finds_313_under_pyenv():
    """No python3.13 on PATH, as on a fresh machine: the Makefile looks in pyenv's versions."""
    if not glob.glob(str(PYENV_ROOT / "versions" / "3.13*" / "bin" / "python3.13")):
        pytest.skip(f"no Python 3.13 under {PYENV_ROOT}/versions")
    result = make("check-python", path="/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert str(PYENV_ROOT / "versions") in result.stdout
    assert "is Python 3.13" in result.stdout


def test_the_venv_recipe_refuses_another_version_before_building_anything(tmp_path):
    python, (major, minor) = other_python()
    venv = tmp_path / "venv"
    result = make("install", f"VENV={venv}", f"PYTHON313={python}")
    assert result.returncode != 0
    assert f"is Python {major}.{minor}, {REFUSED}" in result.stderr
    assert not venv.exists()


def test_install_is_a_no_op_when_the_venv_exists_whatever_python313_says(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()  # newer than every file it depends on
    result = make("install", f"VENV={venv}", "PYTHON313=/no/such/python3.13")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout
    assert result.stderr == ""
