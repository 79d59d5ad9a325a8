"""The isolated SAM/cfn-lint tools. `make test` sets REQUIRE_TOOLS=1, so there they never skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.template import ROOT
from tests.infra.samlocal import Stage, sam_build, staged
from tests.support.local import tool


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


@pytest.fixture(scope="session")
def built(sam: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's one `sam build` of template.yaml, shared by every worker (samlocal.sam_build): in
    the run's temporary folder, which holds each worker's own."""
    base = tmp_path_factory.getbasetemp()
    return sam_build(sam, (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "sam-build")


@pytest.fixture(scope="module")
def stage(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """The sam local tests' stack (tests/infra/samlocal.py), one per test module."""
    yield from staged(built, tmp_path_factory.mktemp("sam-local"))
