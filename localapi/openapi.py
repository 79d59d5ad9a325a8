"""The OpenAPI 3 document, generated from the code: `python -m localapi.openapi` writes docs/openapi.json.

Powertools' OpenAPI support gives the route and its path parameter from the resolver; the
request body comes from the JobReport pydantic model, and the responses from the one table
that maps domain errors to statuses (service.api.ERRORS), plus the success envelope, the 404
and the 500 the code also returns. This runs at build time only: the deployed handler never
imports it (Powertools issue #4372 measures what enable_swagger costs at cold start).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from localapi.template import ROOT

sys.path.insert(0, str(ROOT / "functions" / "job_report"))  # the CodeUri, as Lambda's /var/task

from service.api import ERRORS, ROUTE, SERVER_ERROR_CODE, SUCCESS_MESSAGE, create_app
from service.models import JobReport

DOCUMENT = ROOT / "docs" / "openapi.json"
SEED = json.loads(json.loads((ROOT / "events" / "seed.json").read_text())["body"])


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
        "pattern": "^[A-Za-z0-9]{1,64}$",
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
            "content": {"application/json": {"schema": _ref(NotFound), "example": {"message": "Not Found"}}},
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


SWAGGER_UI = ROOT / ".tools" / "swagger-ui" / "package"  # `make run` fetches it from npm
SWAGGER_UI_CDN = "https://unpkg.com/swagger-ui-dist@5"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")


def swagger_page(spec_url: str, assets: str) -> str:
    """A Swagger UI page for the local API: assets from `assets` (vendored, or the CDN)."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Edge job-report API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "{spec_url}", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


if __name__ == "__main__":
    Path(DOCUMENT).write_text(render())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
