"""Requests as API Gateway hands them to a function (payload-2.0 events, built by devkit.events), and
reading what the function answers."""

from __future__ import annotations

import json
from typing import Any

from devkit.events import http_event, match, request
from devkit.template import HttpRoute
from tests.support import PROJECT, QUERY_FUNCTION, TEMPLATE

REPORT_ROUTE = next(route for route in TEMPLATE.routes() if route.method == "POST")
API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
SOURCE_IP = "203.0.113.1"


def event(
    body: Any,
    *,
    project: str = PROJECT,
    content_type: str | None = "application/json",
    method: str = "POST",
    path: str | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event of a report (`body` a dict sent as JSON, a str or bytes) to the report route;
    with another `method` or `path`, of a request the route table would not give the function."""
    raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"host": API_HOST} | ({"content-type": content_type} if content_type is not None else {})
    route = HttpRoute(REPORT_ROUTE.function, method, REPORT_ROUTE.path)
    raw_path = path or f"/v1/{project}/edgesrv/job-report"
    return http_event(route, raw_path, {"project_id": project}, headers=headers, body=raw, source_ip=SOURCE_IP)


def get_event(path: str, query: str = "") -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends for a GET of this path and raw query string; for a path no
    route matches, the event the read function would get on a catch-all route (it answers 404)."""
    headers = {"host": API_HOST}
    if match(TEMPLATE.routes(), "GET", path) is None:
        catch_all = HttpRoute(QUERY_FUNCTION, "GET", "$default")
        return http_event(catch_all, path, {}, query=query, headers=headers, source_ip=SOURCE_IP)
    return request(TEMPLATE.routes(), "GET", path, query=query, headers=headers, source_ip=SOURCE_IP)


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        merged[k.lower()] = ",".join(values)
    return merged
