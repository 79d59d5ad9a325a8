"""The OpenAPI 3 document, generated from the routes: `python -m devkit.openapi` writes docs/openapi.json.

Every function of template.yaml with HttpApi routes contributes its resolver's document (Powertools'
OpenAPI support, from the `create_app` of its `api` module): each route's parameters, summary,
operationId and answers are declared on its decorator (`jobstatus.http.responses`). Here they are
merged, and given what is the document's and no route's: the report's request body (the JobReport
model, the seed as its example), the SigV4 security scheme, the server, parameter examples that
Swagger UI fills in. What Powertools adds for its validation middleware, which no route answers
with (422 and its schemas: the read routes answer a bad parameter 400), is left out. This runs at
build time only: the deployed handlers never import it (Powertools issue #4372 measures what
enable_swagger costs at cold start).
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any, cast

from devkit.template import ROOT, LocalTemplate
from jobstatus import lifecycle
from report.models import JobReport

DOCUMENT = ROOT / "docs" / "openapi.json"
SEED = json.loads(json.loads((ROOT / "events" / "report" / "seed.json").read_text())["body"])
EXAMPLES = {"project_id": "48cc2c48765f481480c7db940d6409d1", "job_id": "99270", "message_id": "uuid"}
POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
REFS = "#/components/schemas/{model}"


def http_functions(template: LocalTemplate) -> list[Any]:
    """The `api` module of every function that has HttpApi routes, in template order."""
    return [importlib.import_module(f"{f.package}.api") for f in template.functions().values() if f.routes]


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
    if parameter["name"] == "project_id":
        schema["pattern"] = lifecycle.PROJECT_ID_PATTERN
    if parameter["name"] in EXAMPLES:
        parameter["example"] = EXAMPLES[parameter["name"]]
    return parameter


def _untitled(value: Any) -> Any:
    """Drop the "Return" titles Powertools gives inline response schemas (a union of two envelopes)."""
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if not (k == "title" and v == "Return")}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def document() -> dict[str, Any]:
    template = LocalTemplate.read()
    declared = {route.route_key for route in template.routes()}
    spec: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for api in http_functions(template):
        app = api.create_app(cast(Any, None))  # the routes only; no request is served
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
        schemas |= generated["components"]["schemas"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            route_key = f"{method.upper()} {path}"
            if route_key not in declared:
                raise ValueError(f"{route_key} is in the code but not in template.yaml")
            operation["security"] = [{"sigv4": []}]
            operation["parameters"] = [_parameter(p) for p in operation.get("parameters", [])]
            validation = operation["responses"].get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in json.dumps(validation):  # Powertools', not the route's
                del operation["responses"]["422"]
            if method == "post":
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": REFS.format(model="JobReport")}, "example": SEED}
                    },
                }
    request = JobReport.model_json_schema(ref_template=REFS)
    schemas |= request.pop("$defs", {}) | {"JobReport": request}
    spec["paths"] = _untitled(paths)
    spec["components"] = {
        "schemas": dict(sorted((k, v) for k, v in schemas.items() if k not in POWERTOOLS_ONLY)),
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
