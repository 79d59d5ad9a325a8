"""Security checks in `make test`: checkov, bandit, pip-audit, and what the template must guarantee."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devkit.template import ROOT
from tests.support import TEMPLATE

# Every function's CodeUri: the code that is deployed.
FUNCTION_CODE = sorted({function.code_dir for function in TEMPLATE.functions().values()})


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    return subprocess.run(
        [str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False
    )


@pytest.mark.tools
@pytest.mark.parametrize("template", ["template.yaml", "project.yaml"])
def test_checkov_finds_no_failed_check(security: Path, template: str):
    result = run(
        security / "checkov",
        "--framework",
        "cloudformation",
        "--file",
        template,
        "--output",
        "json",
        "--quiet",
        "--compact",
    )
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 0


def test_every_checkov_skip_carries_a_reason():
    skips = [
        (name, skip)
        for name, resource in TEMPLATE.resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} is skipped without a reason"


@pytest.mark.tools
def test_bandit_finds_nothing_in_the_function(security: Path):
    result = run(security / "bandit", "--recursive", *FUNCTION_CODE, "--format", "json", "--quiet")
    report = json.loads(result.stdout)
    assert report["results"] == [], report["results"]


@pytest.mark.tools
def test_pip_audit_finds_no_known_vulnerability_in_the_layer_pins(security: Path):
    result = run(
        security / "pip-audit",
        "--disable-pip",
        "--no-deps",
        "--requirement",
        "layers/dependencies/requirements.txt",
        "--vulnerability-service",
        "pypi",
        "--format",
        "json",
        "--progress-spinner",
        "off",
    )
    report: dict[str, Any] = json.loads(result.stdout)
    audited = [d for d in report["dependencies"] if "skip_reason" not in d]
    vulnerable = {d["name"]: [v["id"] for v in d["vulns"]] for d in audited if d["vulns"]}
    assert not vulnerable, vulnerable
    if not audited:
        pytest.skip("no vulnerability service answered from this machine (PyPI JSON API and OSV unreachable)")


def weak_tls(document: dict[str, Any]) -> list[str]:
    """Custom domains of the API that would accept TLS below 1.2 (the execute-api endpoint itself is TLS 1.2+)."""
    weak = []
    for name, resource in document["Resources"].items():
        if resource["Type"] == "AWS::ApiGatewayV2::DomainName":
            configurations = resource["Properties"].get("DomainNameConfigurations", [])
        elif resource["Type"] == "AWS::Serverless::HttpApi" and "Domain" in resource["Properties"]:
            configurations = [resource["Properties"]["Domain"]]
        else:
            continue
        if not configurations or any(c.get("SecurityPolicy") != "TLS_1_2" for c in configurations):
            weak.append(name)
    return weak


def test_api_is_https_only_with_tls_1_2():
    # The template's API has no custom domain: clients reach the execute-api endpoint, HTTPS only.
    assert weak_tls(TEMPLATE.document) == []
    assert TEMPLATE.document["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://")
    # And the check finds a custom domain that would allow TLS 1.0, were one added.
    weak = json.loads(json.dumps(TEMPLATE.document))
    weak["Resources"]["ApiDomain"] = {
        "Type": "AWS::ApiGatewayV2::DomainName",
        "Properties": {"DomainName": "api.example.com", "DomainNameConfigurations": [{"SecurityPolicy": "TLS_1_0"}]},
    }
    assert weak_tls(weak) == ["ApiDomain"]


def test_no_documentation_or_debug_surface_in_the_deployed_functions():
    for function in TEMPLATE.functions().values():
        assert not {"POWERTOOLS_DEV", "POWERTOOLS_EVENT_HANDLER_DEBUG"} & function.environment.keys()
    code = "\n".join(p.read_text() for code_dir in FUNCTION_CODE for p in code_dir.rglob("*.py"))
    for needle in ("enable_swagger", "debug=True", "get_openapi"):
        assert needle not in code
