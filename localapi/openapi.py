"""The OpenAPI 3 document, generated from the code: `python -m localapi.openapi` writes docs/openapi.json.

Every function of template.yaml with HttpApi routes contributes its resolver's routes and
parameters (Powertools' OpenAPI support, from the `create_app` of its `api` module). Request
bodies and responses come from the code too: the JobReport model, the one table that maps domain
errors to statuses (jobstatus.http.ERRORS), and per operation the domain errors its use case
raises (RAISES below). This runs at build time only: the deployed handlers never import it
(Powertools issue #4372 measures what enable_swagger costs at cold start).
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from jobstatus import model
from jobstatus.errors import (
    DependencyUnavailable,
    InvalidRequest,
    NotFound,
    PayloadConflict,
    PayloadTooLarge,
    ServiceError,
)
from jobstatus.http import ERRORS, NOT_FOUND_BODY, SERVER_ERROR_CODE
from localapi.httpapi import TOO_LARGE_BODY
from localapi.template import ROOT, LocalTemplate
from report.api import SUCCESS_MESSAGE
from report.models import JobReport

DOCUMENT = ROOT / "docs" / "openapi.json"
SEED = json.loads(json.loads((ROOT / "events" / "report" / "seed.json").read_text())["body"])
EXAMPLE_PROJECT, EXAMPLE_JOB = "48cc2c48765f481480c7db940d6409d1", "99270"

# The domain errors each operation's use case raises, besides the 404 and 500 every route may give.
RAISES: dict[str, tuple[type[ServiceError], ...]] = {
    "POST /v1/{project_id}/edgesrv/job-report": (
        InvalidRequest,
        PayloadTooLarge,
        PayloadConflict,
        DependencyUnavailable,
    ),
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}": (InvalidRequest, NotFound, DependencyUnavailable),
    "GET /v1/{project_id}/edgesrv/jobs": (InvalidRequest, DependencyUnavailable),
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}/history": (InvalidRequest, NotFound, DependencyUnavailable),
    "GET /v1/{project_id}/edgesrv/job-report": (InvalidRequest, NotFound, DependencyUnavailable),
}
OPERATIONS = {  # operationId and summary
    "POST /v1/{project_id}/edgesrv/job-report": ("reportJobStatus", "Report the status of edge Flink jobs"),
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}": ("getJob", "A job's current status"),
    "GET /v1/{project_id}/edgesrv/jobs": ("listJobs", "A project's jobs, by category, status and silence"),
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}/history": ("getJobHistory", "A job's reported statuses, newest first"),
    "GET /v1/{project_id}/edgesrv/job-report": ("getReport", "Whether a report (by message_id) was stored"),
}


class SuccessEnvelope(BaseModel):
    is_success: bool = Field(description="true")
    message: str = Field(examples=[SUCCESS_MESSAGE])


class ErrorEnvelope(BaseModel):
    is_success: bool = Field(description="false")
    message: str = Field(description="Which field or parameter failed and why")
    error_code: str = Field(description="DLI error code")
    error_msg: str = Field(description="The same as message, for DLI clients")


class GatewayMessage(BaseModel):
    """What API Gateway answers by itself, before or instead of the function: {"message": "Not Found"}, ..."""

    message: str = Field(examples=[NOT_FOUND_BODY["message"]])


class Job(BaseModel):
    job_id: int = Field(description="1..2^63-1")
    status: str = Field(description="As the agent last reported it")
    category: str = Field(description=", ".join(model.CATEGORIES), json_schema_extra={"enum": list(model.CATEGORIES)})
    create_time: int = Field(description="Epoch ms of the current status, as reported")
    reported_at: int = Field(description="Epoch ms at which the service received the report that set it")
    message_id: str = Field(description="The message_id of that report")
    silent: bool = Field(description="Active and unreported for longer than SilentAfterMinutes")
    silent_since: int | None = Field(None, description="When silent: epoch ms at which it became silent")
    exceptions: str | dict[str, Any] | None = Field(None, description="Of the current status, as sent")


class JobEnvelope(SuccessEnvelope):
    job: Job


class JobsEnvelope(SuccessEnvelope):
    jobs: list[Job]
    next_token: str | None = Field(description="Absent (null) on the last page")


class Entry(BaseModel):
    """The job as it was sent (its known fields, and its extra fields under their own names)."""

    model_config = {"extra": "allow"}
    job_id: int
    status: str
    create_time: int
    received_at: int = Field(description="Epoch ms at which the service received the report")
    message_id: str
    category: str


class HistoryEnvelope(SuccessEnvelope):
    history: list[Entry]
    next_token: str | None


class Report(BaseModel):
    message_id: str
    received_at: int
    job_count: int


class ReportEnvelope(SuccessEnvelope):
    report: Report


RESULTS: dict[str, type[BaseModel]] = {
    "POST /v1/{project_id}/edgesrv/job-report": SuccessEnvelope,
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}": JobEnvelope,
    "GET /v1/{project_id}/edgesrv/jobs": JobsEnvelope,
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}/history": HistoryEnvelope,
    "GET /v1/{project_id}/edgesrv/job-report": ReportEnvelope,
}


def _ref(schema: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema.__name__}"}


def _json(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema, "example": example}}


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter as JSON Schema says it (minimum/maximum), never null, with an example Swagger UI fills in."""
    schema = parameter["schema"]
    for option in schema.pop("anyOf", []):  # a query parameter is absent, never null
        if option.get("type") != "null":
            schema.update(option)
    for pydantic_name, json_name in (("ge", "minimum"), ("le", "maximum")):
        if pydantic_name in schema:
            schema[json_name] = schema.pop(pydantic_name)
    schema.pop("title", None)
    example = {"project_id": EXAMPLE_PROJECT, "job_id": EXAMPLE_JOB, "message_id": "uuid"}.get(parameter["name"])
    if parameter["name"] == "project_id":
        schema["pattern"] = model.PROJECT_ID_PATTERN
    if example is not None:
        parameter["example"] = example
    return parameter


def _responses(route_key: str) -> dict[str, Any]:
    result = RESULTS[route_key]
    replayed = {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}}
    ok = {"description": "Stored, or a replay of a stored report (then Idempotent-Replayed: true)", "headers": replayed}
    if route_key.startswith("GET "):
        ok = {"description": "Found"}
    responses: dict[str, Any] = {"200": {**ok, "content": _json(_ref(result), None)}}
    if result is SuccessEnvelope:
        responses["200"]["content"]["application/json"]["example"] = {"is_success": True, "message": SUCCESS_MESSAGE}
    else:
        del responses["200"]["content"]["application/json"]["example"]
    codes = {int(ERRORS[error][0]): ERRORS[error][1] for error in RAISES[route_key]}
    codes.setdefault(500, SERVER_ERROR_CODE)
    if 404 in codes:
        responses["404"] = {
            "description": f"{codes.pop(404)}: no such job or report in this project; or an unknown route",
            "content": _json({"anyOf": [_ref(ErrorEnvelope), _ref(GatewayMessage)]}, NOT_FOUND_BODY),
        }
    else:
        responses["404"] = {
            "description": "Unknown route or method",
            "content": _json(_ref(GatewayMessage), NOT_FOUND_BODY),
        }
    for status, code in sorted(codes.items()):
        retry = " - retry (with the same message_id)" if status >= 500 else ""
        example = {"is_success": False, "message": "...", "error_code": code, "error_msg": "..."}
        responses[str(status)] = {"description": f"{code}{retry}", "content": _json(_ref(ErrorEnvelope), example)}
    if "413" in responses:  # a request over Lambda's 6 MB never reaches the function
        responses["413"] = {
            "description": f"{codes[413]}: one job would not fit an item; or, from API Gateway, a request over 6 MB",
            "content": _json({"anyOf": [_ref(ErrorEnvelope), _ref(GatewayMessage)]}, TOO_LARGE_BODY),
        }
    return dict(sorted(responses.items()))


def http_functions(template: LocalTemplate) -> list[Any]:
    """The `api` module of every function that has HttpApi routes, in template order."""
    return [importlib.import_module(f"{f.package}.api") for f in template.functions().values() if f.routes]


def document() -> dict[str, Any]:
    template = LocalTemplate.read()
    declared = {route.route_key for route in template.routes()}
    spec: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for api in http_functions(template):
        app = api.create_app(cast(Any, None))  # the routes and handlers only; no request is served
        generated = json.loads(
            app.get_openapi_json_schema(
                title="Edge job-report API",
                version="1.1.0",
                summary="Edge agents report the status of their Flink jobs; operators read it back",
                description="The cloud side of DLI's 'Reporting the Flink Edge Job Status', and the read "
                "routes beside it. Requests are signed with SigV4 (service execute-api). Retry a 5xx: it is "
                "always safe (for a report, with the same message_id).",
            )
        )
        spec = spec or generated
        for path, operations in generated["paths"].items():
            paths.setdefault(path, {}).update(operations)
    for path, operations in paths.items():
        for method, operation in operations.items():
            route_key = f"{method.upper()} {path}"
            if route_key not in declared:
                raise ValueError(f"{route_key} is in the code but not in template.yaml")
            operation_id, summary = OPERATIONS[route_key]
            operation.update(summary=summary, operationId=operation_id, security=[{"sigv4": []}])
            operation["parameters"] = [_parameter(p) for p in operation.get("parameters", [])]
            operation["responses"] = _responses(route_key)
            if route_key.startswith("POST "):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(JobReport), "example": SEED}},
                }
    spec["paths"] = paths
    schemas = JobReport.model_json_schema(ref_template="#/components/schemas/{model}")
    components = dict(schemas.pop("$defs", {}))
    components["JobReport"] = schemas
    documented: list[type[BaseModel]] = [SuccessEnvelope, ErrorEnvelope, GatewayMessage, *RESULTS.values()]
    for schema in documented:
        for name, definition in (
            schema.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}).items()
        ):
            components[name] = definition
        components[schema.__name__] = {
            k: v
            for k, v in schema.model_json_schema(ref_template="#/components/schemas/{model}").items()
            if k != "$defs"
        }
    spec["components"] = {
        "schemas": dict(sorted(components.items())),
        "securitySchemes": {
            "sigv4": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "AWS Signature Version 4, service execute-api",
            }
        },
    }
    spec["servers"] = [
        {
            "url": "https://{api_id}.execute-api.{region}.amazonaws.com",
            "variables": {"api_id": {"default": "abc123"}, "region": {"default": "us-east-1"}},
        }
    ]
    return spec


def for_explorer(base_url: str, message_id: str) -> dict[str, Any]:
    """The document as `make run`'s Swagger UI uses it: this server, no SigV4, a fresh message_id to try.

    The committed document keeps the seed example verbatim (message_id "uuid"); "Try it out" on the
    local API gets one of its own each time the page loads, so that an edited try is stored, not
    refused as a reuse (422) of the README's seed.
    """
    spec = copy.deepcopy(document()) | {"servers": [{"url": base_url, "description": "make run"}]}
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            body = operation.get("requestBody")
            if body is not None:
                body["content"]["application/json"]["example"]["message_id"] = message_id
    spec["components"].pop("securitySchemes", None)
    return spec


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    Path(DOCUMENT).write_text(render())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
