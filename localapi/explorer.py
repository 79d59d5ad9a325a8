"""The API explorer of the original API page: Swagger UI on the OpenAPI document, local only.

Served by `make run` at /swagger, with a page at / that lists the routes and points there (the
deployed API answers / with API Gateway's 404). Swagger UI comes from the npm registry (`make run` vendors it
into .tools/) and falls back to a CDN. The deployed functions never import any of it.
"""

from __future__ import annotations

import base64
import html
import json
import uuid
from typing import Any

from devkit.template import ROOT, HttpRoute
from jobstatus.http import NOT_FOUND_BODY
from localapi.httpapi import NOT_FOUND, json_response

SWAGGER_UI = ROOT / ".tools" / "swagger-ui" / "package"  # `make run` fetches it from npm
SWAGGER_UI_CDN = "https://unpkg.com/swagger-ui-dist@5"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")
PREFIX = "/swagger"


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


def index_page(base_url: str, routes: list[HttpRoute]) -> str:
    """GET / locally: the template's routes and the way to the explorer."""
    rows = "\n".join(
        f"<li><code>{html.escape(r.method)} {html.escape(base_url + r.path)}</code> ({html.escape(r.function)})</li>"
        for r in routes
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Edge job-report API (local)</title></head>
<body>
<h1>Edge job-report API, local</h1>
<p>The routes template.yaml declares:</p>
<ul>
{rows}
</ul>
<p>Try each of them in the API explorer: <a href="{PREFIX}">{html.escape(base_url)}{PREFIX}</a>.</p>
<p>This page and the explorer exist only in the local run; the deployed API answers <code>/</code>
with 404 <code>{html.escape(json.dumps(NOT_FOUND_BODY), quote=False)}</code>.</p>
</body></html>
"""


class Explorer:
    def __init__(self, base_url: str, routes: list[HttpRoute]) -> None:
        self._base_url = base_url
        self._routes = routes

    def __call__(self, method: str, path: str) -> dict[str, Any] | None:
        """The answer for an explorer path, or None for any other path (the HTTP API's routes)."""
        if method == "GET" and path == "/":
            page = index_page(self._base_url, self._routes)
            return {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": page}
        if method != "GET" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            return None
        vendored = all((SWAGGER_UI / name).exists() for name in SWAGGER_UI_FILES)
        if path == PREFIX:
            assets = f"{PREFIX}/assets" if vendored else SWAGGER_UI_CDN
            page = swagger_page(f"{PREFIX}/openapi.json", assets)
            return {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": page}
        name = path.removeprefix(f"{PREFIX}/assets/")
        if path.startswith(f"{PREFIX}/assets/") and vendored and name in SWAGGER_UI_FILES:
            kind = "text/css" if name.endswith(".css") else "application/javascript"
            body = base64.b64encode((SWAGGER_UI / name).read_bytes()).decode()
            return {"statusCode": 200, "headers": {"content-type": kind}, "body": body, "isBase64Encoded": True}
        if path != f"{PREFIX}/openapi.json":
            return NOT_FOUND
        return json_response(200, self.document())

    def document(self) -> dict[str, Any]:
        """The OpenAPI document for this server. The local API does not check SigV4 (API Gateway does)."""
        from devkit import openapi  # noqa: PLC0415 - built on first use

        return openapi.for_explorer(self._base_url, f"explorer-{uuid.uuid4()}")
