"""`sam build` without a container, and each function's build recipe (test_sam_local_*.py run SAM's containers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import TEMPLATE


@pytest.mark.tools
def test_sam_build_produces_function_and_arm64_layer(built: Path):
    # the run's one `sam build` (tests/infra/conftest.py), which the sam local tests run
    layer = built / "DependenciesLayer" / "python"
    assert (layer / "aws_lambda_powertools").is_dir()
    (core,) = (layer / "pydantic_core").glob("_pydantic_core*.so")
    assert "aarch64" in core.name
    # The layer ships bytecode for Lambda's python3.13, which cannot write it itself.
    modules = list(layer.rglob("*.py"))
    compiled = {p.parent.parent / (p.name.split(".")[0] + ".py") for p in layer.rglob("__pycache__/*.cpython-313.pyc")}
    assert len(compiled) >= 0.95 * len(modules)
    for name, function in TEMPLATE.functions().items():
        artifact = built / name
        assert sorted(p.name for p in artifact.iterdir()) == sorted(["jobstatus", function.package])
        bytecode = {p.name.split(".")[0] for p in artifact.rglob("*.cpython-313.pyc")}
        sources = {p.stem for p in artifact.rglob("*.py")}
        assert bytecode == sources


@pytest.mark.parametrize("name", sorted(TEMPLATE.functions()))
def test_each_function_ships_the_shared_package_and_its_own_only(name, tmp_path):
    # Given the build recipe sam build runs for this function (functions/Makefile)
    function = TEMPLATE.function(name)
    result = subprocess.run(
        [
            "make",
            "-C",
            str(function.code_dir),
            f"build-{name}",
            f"ARTIFACTS_DIR={tmp_path}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Then the artifact is jobstatus/ plus the package the handler names, no other function's code
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["jobstatus", function.package])
    assert (tmp_path / (function.module.replace(".", "/") + ".py")).exists()
    # And every module carries its bytecode, which Lambda cannot write itself
    assert all((py.parent / "__pycache__" / f"{py.stem}.cpython-313.pyc").exists() for py in tmp_path.rglob("*.py"))
