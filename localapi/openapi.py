"""The OpenAPI 3 document, generated from the code: `python -m localapi.openapi` writes docs/openapi.json.

Powertools' OpenAPI support gives each route and its path parameters from the function's
resolver; the request body comes from the JobReport pydantic model, and the responses from the
one table that maps domain errors to statuses (jobstatus.http.ERRORS), plus the success
envelope, the 404 and the 500 the code also returns. This runs at build time only: the deployed
handlers never import it (Powertools issue #4372 measures what enable_swagger costs at cold start).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from jobstatus.http import ERRORS, NOT_FOUND_BODY, SERVER_ERROR_CODE
from jobstatus.model import PROJECT_ID_PATTERN
from localapi.template import ROOT
from report.api import ROUTE, SUCCESS_MESSAGE, create_app
from report.models import JobReport

DOCUMENT = ROOT / "docs" / "openapi.json"
SEED = json.loads(json.loads((ROOT / "events" / "report" / "seed.json").read_text())["body"])


class SuccessEnvelope(BaseModel):
    is_success: bool = Field(description="true")
    message: str = Field(examples=[SUCCESS_MESSAGE])


class ErrorEnvelope(BaseModel):
    is_success: bool = Field(description="false")
    message: str = Field(description="Which field failed and why")
    error_code: str = Field(description="DLI error code")
    error_msg: str = Field(description="The same as message, for DLI clients")


class NotFound(BaseModel):
    message: str = Field(examples=["Not Found"])


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document() -> dict[str, Any]:
    app = create_app(cast(Any, None))  # the routes and handlers only; no request is served
    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="Edge job-report API",
            version="1.0.0",
            summary="Edge agents report the status of their Flink jobs",
            description="The cloud side of DLI's 'Reporting the Flink Edge Job Status'. Requests are signed "
            "with SigV4 (service execute-api). Retry a 5xx with the same message_id: it is always safe.",
        )
    )
    path = ROUTE.replace("<project_id>", "{project_id}")
    operation = spec["paths"][path]["post"]
    operation.update(summary="Report the status of edge Flink jobs", operationId="reportJobStatus")
    operation["parameters"][0]["schema"] = {
        "type": "string",
        "pattern": PROJECT_ID_PATTERN,
        "examples": ["48cc2c48765f481480c7db940d6409d1"],
    }
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": _ref(JobReport), "example": SEED}},
    }
    errors = {int(status): code for status, code, _ in ERRORS.values()} | {500: SERVER_ERROR_CODE}
    operation["responses"] = {
        "200": {
            "description": "Stored, or a replay of a stored report (then Idempotent-Replayed: true)",
            "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
            "content": {
                "application/json": {
                    "schema": _ref(SuccessEnvelope),
                    "example": {"is_success": True, "message": SUCCESS_MESSAGE},
                }
            },
        },
        "404": {
            "description": "Unknown route or method",
            "content": {"application/json": {"schema": _ref(NotFound), "example": NOT_FOUND_BODY}},
        },
        **{
            str(status): {
                "description": f"{code}" + (" - retry with the same message_id" if status >= 500 else ""),
                "content": {
                    "application/json": {
                        "schema": _ref(ErrorEnvelope),
                        "example": {"is_success": False, "message": "...", "error_code": code, "error_msg": "..."},
                    }
                },
            }
            for status, code in sorted(errors.items())
        },
    }
    operation["security"] = [{"sigv4": []}]
    schemas = JobReport.model_json_schema(ref_template="#/components/schemas/{model}")
    components = dict(schemas.pop("$defs", {}))
    components["JobReport"] = schemas
    for model in (SuccessEnvelope, ErrorEnvelope, NotFound):
        components[model.__name__] = model.model_json_schema()
    spec["components"] = {
        "schemas": components,
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


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    Path(DOCUMENT).write_text(render())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
