"""Helpers shared by the tests: events as API Gateway sends them, table reads, the seed example."""

from __future__ import annotations

import copy
import json
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devkit.events import http_event, match
from devkit.template import ROOT, HttpRoute, LocalTemplate

EVENTS = ROOT / "events"
PROJECT = "48cc2c48765f481480c7db940d6409d1"
SUCCESS = {"is_success": True, "message": "The IEF Flink job status information is successfully reported."}
TEMPLATE = LocalTemplate.read()
REPORT_FUNCTION, QUERY_FUNCTION = "JobReportFunction", "JobQueryFunction"
EVENTS_FUNCTION, SWEEP_FUNCTION = "JobEventsFunction", "SilenceSweepFunction"
FLEET_FUNCTION = "FleetFunction"
JOB_TABLE, LEDGER_TABLE = "JobStatusTable", "IdempotencyTable"


def seed_body() -> dict[str, Any]:
    return copy.deepcopy(json.loads(load_event("report/seed.json")["body"]))


def report(*jobs: dict[str, Any], message_id: Any = None, **fields: Any) -> dict[str, Any]:
    return {"jobs": list(jobs), "message_id": str(uuid.uuid4()) if message_id is None else message_id, **fields}


def job(job_id: Any = 1, status: Any = "job_running", create_time: Any = 1_700_000_000_000, **f: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status, "create_time": create_time, **f}
    if job_id is not None:
        data["job_id"] = job_id
    return data


REPORT_ROUTE = next(route for route in TEMPLATE.routes() if route.method == "POST")
API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"


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
    return http_event(route, raw_path, {"project_id": project}, headers=headers, body=raw, source_ip="203.0.113.1")


def get_event(path: str, query: str = "") -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends for a GET of this path and raw query string."""
    found = match(TEMPLATE.routes(), "GET", path)
    route, parameters = found if found else (HttpRoute(QUERY_FUNCTION, "GET", "$default"), {})
    return http_event(route, path, parameters, query=query, headers={"host": API_HOST}, source_ip="203.0.113.1")


def reply_json(
    handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None
) -> None:
    """Answer from a test HTTP server: status, headers, a JSON body in one go."""
    handler.send_response(status)
    for name, value in {"content-type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i.get("sk", {}).get("S", "")))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def everything(client: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: scan(client, table) for table in (JOB_TABLE, LEDGER_TABLE)}


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        merged[k.lower()] = ",".join(values)
    return merged


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    d = TypeDeserializer()
    return {k: d.deserialize(v) for k, v in item.items()}


def load_event(name: str) -> dict[str, Any]:
    """An event file, by its path under events/ (e.g. "report/seed.json")."""
    return dict(json.loads(Path(EVENTS / name).read_text()))


# What the run proved, printed at its end and written by `make test` to .evidence/reliability.md (tests/conftest.py).
RUN: dict[str, Any] = {
    "bad inputs": set(),
    "fuzzed bodies": 0,
    "faults": set(),
    "concurrent": 0,
    "items checked": 0,
    "lost": 0,
}


def account(expected: list[Any], found: list[Any]) -> None:
    """Count the items a test expected and how many of them are missing (lost)."""
    RUN["items checked"] += len(expected)
    RUN["lost"] += sum(1 for item in expected if item not in found)
