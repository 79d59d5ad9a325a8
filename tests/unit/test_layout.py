"""The layout shows the architecture: functions depend on the shared package and never on each other."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support import TEMPLATE

CODE = {function.code_dir for function in TEMPLATE.functions().values()}
SHARED = "jobstatus"


def imported_roots(package: Path) -> set[str]:
    """Top-level names of every module imported anywhere in a package (absolute imports)."""
    found = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_all_functions_share_one_code_root():
    assert len(CODE) == 1, "every function's CodeUri is functions/, built per function by functions/Makefile"


def test_the_shared_package_imports_no_function():
    packages = {function.package for function in TEMPLATE.functions().values()}
    (root,) = CODE
    assert not imported_roots(root / SHARED) & packages


@pytest.mark.parametrize("name", sorted(TEMPLATE.functions()))
def test_a_function_imports_the_shared_package_and_never_another_function(name):
    function = TEMPLATE.function(name)
    others = {f.package for f in TEMPLATE.functions().values()} - {function.package}
    imported = imported_roots(function.code_dir / function.package)
    assert SHARED in imported
    assert not imported & others, f"{function.package} imports {imported & others}"
    # and nothing beyond the standard library, the layer and botocore (which Lambda's runtime provides)
    allowed = {SHARED, function.package, "aws_lambda_powertools", "pydantic", "pydantic_core", "botocore"}
    assert imported - allowed <= set(sys.stdlib_module_names), imported - allowed - set(sys.stdlib_module_names)


def test_every_package_under_the_code_root_is_shared_or_a_function():
    (root,) = CODE
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    assert packages == {SHARED} | {f.package for f in TEMPLATE.functions().values()}
