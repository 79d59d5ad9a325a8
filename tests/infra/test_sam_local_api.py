"""`sam local start-api`: every route of template.yaml over HTTP, in SAM's own API Gateway emulation
(tests/infra/samlocal.py says how). A file of its own so that the test runner can run it beside
test_sam_local_lambda.py: each spends most of its time waiting on emulated cold starts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from devkit.events import match
from tests.infra.samlocal import LOCAL_TIMEOUT_S, MARKS, Stage, answered, serve
from tests.support import EVENTS, PROJECT, SUCCESS, TEMPLATE

pytestmark = [*MARKS, pytest.mark.slow(95)]


# --- sam local start-api: the routes --------------------------------------------------------------


def test_sam_local_start_api_serves_every_route(sam: str, stage: Stage):
    with serve(sam, stage, "start-api") as port:
        prefix = f"/v1/{PROJECT}/edgesrv"
        covered: set[str] = set()

        def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            matched = match(TEMPLATE.routes(), method, prefix + path.partition("?")[0])
            assert matched, f"{method} {path}: no route in template.yaml"
            covered.add(matched[0].route_key)
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            request = urllib.request.Request(f"http://127.0.0.1:{port}{prefix}{path}", data=data, method=method)

            def attempt() -> tuple[int, Any]:
                try:
                    with urllib.request.urlopen(request, timeout=LOCAL_TIMEOUT_S + 60) as reply:
                        return reply.status, json.loads(reply.read())
                except urllib.error.HTTPError as error:
                    return error.code, json.loads(error.read())

            return answered(attempt, lambda result: result[0])

        seed = json.loads(json.loads((EVENTS / "report" / "seed.json").read_text())["body"])
        seed["message_id"] = f"start-api-{time.time_ns()}"
        assert call("POST", "/job-report", seed) == (200, SUCCESS)
        assert call("POST", "/job-report", seed) == (200, SUCCESS)  # a replay
        conflict = call("POST", "/job-report", seed | {"jobs": [seed["jobs"][0] | {"status": "job_running"}]})
        assert (conflict[0], conflict[1]["error_code"]) == (422, "DLI.0006")
        for bad in (b"{", {"jobs": [{"status": "job_running"}], "message_id": "m"}):
            status, body = call("POST", "/job-report", bad)
            assert (status, body["error_code"]) == (400, "DLI.0001")
        status, body = call("GET", "/jobs/99270")
        assert (status, body["job"]["category"]) == (200, "failed")
        status, body = call("GET", "/jobs?category=failed")
        assert status == 200
        assert 99270 in [j["job_id"] for j in body["jobs"]]
        status, body = call("GET", "/jobs/99270/history?limit=5")
        assert (status, body["history"][0]["job_id"]) == (200, 99270)
        status, body = call("GET", f"/job-report?message_id={seed['message_id']}")
        assert (status, body["report"]["job_count"]) == (200, 1)
        assert covered == {r.route_key for r in TEMPLATE.routes()}  # a route added later must be called here
