"""`sam local start-api`: every route of template.yaml called once over HTTP, in SAM's own API Gateway
emulation and its Lambda containers, which runs every function behind a route (tests/infra/samlocal.py
says how). A file of its own so that the test runner can run it beside test_sam_local_lambda.py:
each spends most of its time waiting on emulated cold starts."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devkit.events import match
from devkit.openapi import DOCUMENT
from devkit.template import HttpRoute
from jobstatus.http import Envelope
from tests.infra.samlocal import LOCAL_TIMEOUT_S, MARKS, Stage, events_of, retried, serve
from tests.support import TEMPLATE

pytestmark = [*MARKS, pytest.mark.slow(120)]


def example(route: HttpRoute) -> Path:
    """The event a route is called with: of the events in its function's events/<package>/ that the
    route table gives to this route, bad-* aside, the one with the shortest name (a variant is named
    after the event it varies: seed-replay and seed-conflict after seed)."""
    function = TEMPLATE.function(route.function)
    found = []
    for path in events_of(function):
        event = json.loads(path.read_text())
        given = match(TEMPLATE.routes(), event["requestContext"]["http"]["method"], event["rawPath"])
        if given and given[0] == route and not path.stem.startswith("bad-"):
            found.append(path)
    assert found, f"{route.route_key}: no event for it in events/{function.package}/; add one (every route is called)"
    return min(found, key=lambda path: (len(path.stem), path.stem))


def documented_fields(route: HttpRoute) -> set[str]:
    """What the route's 200 envelope must hold, as docs/openapi.json (generated from the code) says."""
    spec = json.loads(DOCUMENT.read_text())
    schema = spec["paths"][route.path][route.method.lower()]["responses"]["200"]["content"]["application/json"]
    name = schema["schema"]["$ref"].split("/")[-1]
    return set(spec["components"]["schemas"][name]["required"])


def call(port: int, event: dict[str, Any]) -> tuple[int, Any]:
    """The request an event stands for (method, path, query, content type, body), as a client sends it."""
    query = event.get("rawQueryString") or ""
    raw = event.get("body")
    body = None if raw is None else (base64.b64decode(raw) if event["isBase64Encoded"] else raw.encode())
    content_type = event["headers"].get("content-type")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{event['rawPath']}" + (f"?{query}" if query else ""),
        data=body,
        method=event["requestContext"]["http"]["method"],
        headers={"content-type": content_type} if content_type else {},
    )

    def attempt() -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=LOCAL_TIMEOUT_S + 60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    return retried(attempt, lambda answer: answer[0] == 503)


def test_every_route_answers_its_event_with_200_and_its_envelope(sam: str, stage: Stage):
    # Given every route of the template, each with its event; the writing routes first, so that the
    # reads find what they stored (the read events name the seed's job and message_id)
    calls = [(route, example(route)) for route in sorted(TEMPLATE.routes(), key=lambda r: r.method == "GET")]
    with serve(sam, stage, "start-api") as port:
        for route, path in calls:
            # When the route is called with it through SAM's API Gateway and the function's container
            status, body = call(port, json.loads(path.read_text()))
            # Then the function answers 200 in the standard envelope, with what the route documents
            assert status == 200, (route.route_key, path.name, body)
            assert Envelope.model_validate(body).is_success, (route.route_key, body)
            assert documented_fields(route) <= set(body), (route.route_key, body)
