"""docs/openapi.json is generated from the routes, current, and lists what each route answers."""

from __future__ import annotations

import json
from typing import Any

from devkit.openapi import DOCUMENT, for_explorer, render
from tests.support import TEMPLATE, seed_body


def operations() -> dict[str, dict[str, Any]]:
    spec = json.loads(DOCUMENT.read_text())
    return {f"{m.upper()} {p}": op for p, ops in spec["paths"].items() for m, op in ops.items()}


def test_committed_document_matches_the_code():
    assert DOCUMENT.read_text() == render(), "run `make openapi` and commit docs/openapi.json"


def test_document_covers_exactly_the_templates_routes():
    assert set(operations()) == {route.route_key for route in TEMPLATE.routes()}


def test_each_operation_lists_its_answers_with_their_envelopes():
    for route_key, operation in operations().items():
        statuses = {int(s) for s in operation["responses"]}
        assert {200, 404, 500} <= statuses, route_key  # every route: its answer, an unknown route, a fault
        assert 422 not in statuses or route_key.startswith("POST ")  # only the report's conflict is a 422
        for status, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            refs = [s["$ref"].split("/")[-1] for s in schema.get("anyOf", [schema])]
            if status == "404":
                assert "GatewayMessage" in refs  # an unknown route is API Gateway's 404 on every path
            elif status == "413":
                assert refs == ["ErrorEnvelope", "GatewayMessage"]  # the function's, or API Gateway's over 6 MB
            elif int(status) >= 400:
                assert refs == ["ErrorEnvelope"]
    spec = json.loads(DOCUMENT.read_text())
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])


def test_request_example_is_the_seed_and_the_body_schema_is_the_model():
    spec = json.loads(DOCUMENT.read_text())
    body = spec["paths"]["/v1/{project_id}/edgesrv/job-report"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == seed_body()
    assert set(spec["components"]["schemas"]["JobReport"]["required"]) == {"jobs", "message_id"}
    items = spec["components"]["schemas"]["JobReport"]["properties"]["jobs"]["items"]["$ref"].split("/")[-1]
    assert set(spec["components"]["schemas"][items]["required"]) == {"status", "create_time"}  # not the read side's Job


def test_every_path_parameter_carries_an_example_swagger_ui_fills_in():
    for route_key, operation in operations().items():
        for parameter in operation["parameters"]:
            assert "examples" not in parameter["schema"], route_key  # OpenAPI 3.1 examples are not prefilled
            if parameter["in"] == "path" or parameter.get("required"):
                assert parameter["example"], (route_key, parameter["name"])
            assert "ge" not in parameter["schema"]
            assert "le" not in parameter["schema"]
            assert "anyOf" not in parameter["schema"]


def test_the_explorer_gets_a_fresh_message_id_and_the_committed_document_keeps_the_seed():
    first, second = (for_explorer("http://127.0.0.1:3000", f"explorer-{i}") for i in (1, 2))

    def post(spec: dict[str, Any]) -> dict[str, Any]:
        return dict(spec["paths"]["/v1/{project_id}/edgesrv/job-report"]["post"])

    assert post(first)["requestBody"]["content"]["application/json"]["example"]["message_id"] == "explorer-1"
    assert post(second)["requestBody"]["content"]["application/json"]["example"]["message_id"] == "explorer-2"
    assert "security" not in post(first)
    assert json.loads(DOCUMENT.read_text())["paths"]["/v1/{project_id}/edgesrv/job-report"]["post"]["security"]
    assert json.loads(render()) == json.loads(DOCUMENT.read_text())  # generating for the explorer changed nothing
