"""schemathesis against the local API, from the OpenAPI document it serves: no 5xx, every response conforms."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.local import Local, tool

# positive_data_acceptance is left out: a schema-valid report is still refused when its message_id
# was used before with another payload (422), or when a number in a free-form object is beyond what
# DynamoDB stores (400). Both are documented answers the schema cannot express.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "unsupported_method",
    ]
)

# The stateful phase is left out: following the next_token links it infers, it sends URLs over the
# HTTP API's 10 KB quota on the request line and headers, where what API Gateway answers is not
# documented, so the local API cannot stand in for it (Python's server answers an HTML 414).
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
PHASES = "examples,coverage,fuzzing"

pytestmark = pytest.mark.slow(80)


@pytest.mark.tools
def test_generated_requests_get_no_5xx_and_conforming_responses(local: Local, tmp_path: Path):
    schemathesis = tool("schemathesis", "SCHEMATHESIS")
    result = subprocess.run(
        [
            schemathesis,
            "run",
            f"http://127.0.0.1:{local.port}/swagger/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            PHASES,
            "--max-examples",
            "40",
            "--generation-deterministic",
            "--request-timeout",
            "30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
