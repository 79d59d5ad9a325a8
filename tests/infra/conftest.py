"""The isolated SAM/cfn-lint tools. `make test` sets REQUIRE_TOOLS=1, so there they never skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from localapi.template import ROOT


def tool(name: str, variable: str) -> str:
    path = os.environ.get(variable) or str(ROOT / ".tools" / "sam" / "bin" / name)
    if Path(path).is_dir():
        path = str(Path(path) / name)
    if not Path(path).exists():
        if os.environ.get("REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is missing: run `make tools`")
        pytest.skip(f"{name} is not installed (`make tools`)")
    return path


@pytest.fixture(scope="session")
def sam() -> str:
    return tool("sam", "SAM_CLI")


@pytest.fixture(scope="session")
def cfn_lint() -> str:
    return tool("cfn-lint", "CFN_LINT")


@pytest.fixture(scope="session")
def security() -> Path:
    """The folder holding checkov, bandit and pip-audit (their own environment)."""
    os.environ.setdefault("SECURITY_TOOLS", str(ROOT / ".tools" / "security" / "bin"))
    return Path(tool("checkov", "SECURITY_TOOLS")).parent


def container_runtime() -> str | None:
    """Why sam local cannot run here, or None when a container runtime answers."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker client on PATH"
    probe = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    return None if probe.returncode == 0 else "docker is installed but no container runtime answers (`docker info`)"
