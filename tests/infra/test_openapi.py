"""docs/openapi.json is generated from the code, current, and lists exactly what the code returns."""

from __future__ import annotations

import json

from jobstatus.http import ERRORS
from localapi.openapi import DOCUMENT, render
from tests.support import seed_body


def test_committed_document_matches_the_code():
    assert DOCUMENT.read_text() == render(), "run `make openapi` and commit docs/openapi.json"


def test_document_lists_exactly_the_statuses_the_code_returns():
    spec = json.loads(DOCUMENT.read_text())
    (operation,) = spec["paths"]["/v1/{project_id}/edgesrv/job-report"].values()
    code_statuses = {int(status) for status, _, _ in ERRORS.values()} | {200, 404, 500}
    assert {int(s) for s in operation["responses"]} == code_statuses
    for status, response in operation["responses"].items():
        schema = response["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert schema == {"200": "SuccessEnvelope", "404": "NotFound"}.get(status, "ErrorEnvelope")


def test_request_example_is_the_seed_and_the_body_schema_is_the_model():
    spec = json.loads(DOCUMENT.read_text())
    body = spec["paths"]["/v1/{project_id}/edgesrv/job-report"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == seed_body()
    assert set(spec["components"]["schemas"]["JobReport"]["required"]) == {"jobs", "message_id"}
    assert set(spec["components"]["schemas"]["Job"]["required"]) == {"status", "create_time"}
