"""`sam build` without a container, and `sam local` for users who have Docker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from localapi.services import start_moto
from localapi.template import ROOT, LocalTemplate
from tests.infra.conftest import container_runtime
from tests.support import EVENTS, REPORT_FUNCTION, SUCCESS, TEMPLATE

PYTHON313 = Path(sys.executable).parent  # the venv's python is 3.13; sam build needs one on PATH


def run_sam(sam: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sam, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, env=sam_env(), check=False
    )


def sam_env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{PYTHON313}:{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.mark.tools
def test_sam_build_produces_function_and_arm64_layer(sam, tmp_path):
    result = run_sam(
        sam,
        "build",
        "--template",
        "template.yaml",
        "--build-dir",
        str(tmp_path / "build"),
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer = tmp_path / "build" / "DependenciesLayer" / "python"
    assert (layer / "aws_lambda_powertools").is_dir()
    (core,) = (layer / "pydantic_core").glob("_pydantic_core*.so")
    assert "aarch64" in core.name
    # The layer ships bytecode for Lambda's python3.13, which cannot write it itself.
    modules = list(layer.rglob("*.py"))
    compiled = {p.parent.parent / (p.name.split(".")[0] + ".py") for p in layer.rglob("__pycache__/*.cpython-313.pyc")}
    assert len(compiled) >= 0.95 * len(modules)
    for name, function in TEMPLATE.functions().items():
        built = tmp_path / "build" / name
        assert sorted(p.name for p in built.iterdir()) == sorted(["jobstatus", function.package])
        compiled = {p.name.split(".")[0] for p in built.rglob("*.cpython-313.pyc")}
        sources = {p.stem for p in built.rglob("*.py")}
        assert compiled == sources


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


SAM_LOCAL_BLOCKER = container_runtime()
needs_docker = pytest.mark.skipif(SAM_LOCAL_BLOCKER is not None, reason=f"sam local: {SAM_LOCAL_BLOCKER}")


@pytest.fixture
def local_dynamodb(tmp_path):
    """A moto DynamoDB with the template's tables, reachable from the sam local container."""
    server = start_moto("0.0.0.0", 0)  # noqa: S104 - the container reaches it through the host gateway
    port = server.server_address[1]
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    LocalTemplate.read().create_tables(client)
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {
                REPORT_FUNCTION: {
                    "AWS_ENDPOINT_URL_DYNAMODB": f"http://host.docker.internal:{port}",
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            }
        )
    )
    yield ["--env-vars", str(env_vars), "--add-host", "host.docker.internal:host-gateway"]
    server.shutdown()


@pytest.mark.docker
@needs_docker
def test_sam_local_invoke_answers_the_seed_event(sam, local_dynamodb):
    result = run_sam(
        sam, "local", "invoke", REPORT_FUNCTION, "--event", str(EVENTS / "report" / "seed.json"), *local_dynamodb
    )
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200, result.stderr
    assert json.loads(response["body"]) == SUCCESS


@pytest.mark.docker
@needs_docker
def test_sam_local_start_api_answers_the_seed_example(sam, local_dynamodb):
    process = subprocess.Popen([sam, "local", "start-api", "--port", "3999", *local_dynamodb], cwd=ROOT, env=sam_env())
    try:
        body = json.loads((EVENTS / "report" / "seed.json").read_text())["body"].encode()
        request = urllib.request.Request(
            "http://127.0.0.1:3999/v1/48cc2c48765f481480c7db940d6409d1/edgesrv/job-report", data=body, method="POST"
        )
        for _ in range(120):
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    assert json.loads(reply.read()) == SUCCESS
                    return
            except OSError:
                time.sleep(1)
        pytest.fail("sam local start-api did not answer")
    finally:
        process.terminate()
