"""The documents stand on their own: what they link exists in the repository, the example a deployer
sends is the seed, and nothing points at material a reader of this repository does not have. The
README is the front door: short, and linking every document of docs/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devkit.template import ROOT
from tests.support import seed_body, summary_example

DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "localapi").rglob("README.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_repository(document: Path):
    for target, _anchor in LINK.findall(document.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (document.parent / target).exists(), f"{document.relative_to(ROOT)} links {target}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_document_points_at_the_planning_material_outside_the_repository(document: Path):
    text = document.read_text()
    for outside in ("shared/", "CONTRACT.md", "DESIGN.md", "STYLE.md", "the benchmark issue", "the endpoint issue"):
        assert outside not in text, f"{document.relative_to(ROOT)} mentions {outside!r}"


def test_the_deployers_example_report_is_the_seed_examples_body():
    assert json.loads((ROOT / "docs" / "examples" / "report.json").read_text()) == seed_body()


def test_the_api_pages_summary_example_is_the_one_the_tests_hold_the_code_to():
    text = (ROOT / "docs" / "api.md").read_text()
    after = text[text.index("## A project at a glance: `job-summary`") :]
    shown = after[after.index("```json\n") + len("```json\n") : after.index("```", after.index("```json\n") + 1)]
    assert json.loads(shown) == summary_example()


README_MAX_LINES = 250


def test_the_readme_is_a_front_door_of_fewer_than_250_lines():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move the detail to docs/ and link it"


def test_the_readme_links_every_document_of_docs_directly():
    linked = {target for target, _anchor in LINK.findall((ROOT / "README.md").read_text())}
    unlinked = [doc.name for doc in sorted((ROOT / "docs").glob("*.md")) if f"docs/{doc.name}" not in linked]
    assert not unlinked, f"README.md does not link {', '.join(unlinked)}"
