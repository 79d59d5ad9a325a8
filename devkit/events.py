"""The events Lambda hands the functions, built by pure functions: an HTTP API payload-2.0 event, and a
DynamoDB stream record as an event source mapping passes it.

`make run` (localapi) builds every request's event here, and the tests and the bench build theirs
the same way, so that none of them can drift from what API Gateway and Lambda send.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION, HttpRoute

# HTTP API passes these content types as text; anything else arrives base64-encoded.
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded)|application/.*\+(json|xml))$"
)


def match(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route HTTP API gives a request, and its path parameters (raw), or None: {name} matches one
    path segment, {name+} (greedy) the rest of the path."""
    for route in routes:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(route.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        found = re.fullmatch(regex, path)
        if found and route.method in (method, "ANY"):
            return route, found.groupdict()
    return None


def http_event(
    route: HttpRoute,
    raw_path: str,
    path_parameters: dict[str, str],
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
    host: str = "localhost",
    now: float | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends for a request that matched `route` (headers lowercase)."""
    now = time.time() if now is None else now
    headers = headers or {}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text: str | None = body.decode("utf-8") if _TEXT_TYPES.match(content_type) else None
    except UnicodeDecodeError:
        text = None
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "apiId": "local",
            "domainName": headers.get("host", host),
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id or uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": {k: unquote(v) for k, v in path_parameters.items()},
        "isBase64Encoded": text is None and bool(body),
    }
    if query:
        # Repeated parameters are joined with commas, as HTTP API does.
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if body:
        event["body"] = text if text is not None else base64.b64encode(body).decode()
    return event


def request(
    routes: list[HttpRoute],
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    **options: Any,
) -> dict[str, Any]:
    """The payload-2.0 event of a request that one of these routes matches (LookupError if none does)."""
    found = match(routes, method, path)
    if found is None:
        raise LookupError(f"{method} {path}: no route of the template matches")
    route, parameters = found
    return http_event(route, path, parameters, query=query, headers=headers, body=body, **options)


def stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB stream record (as GetRecords returns it) as Lambda passes it: JSON,
    ApproximateCreationDateTime in epoch seconds."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", LOCAL_REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
