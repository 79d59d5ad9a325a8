"""The real client configuration against a misbehaving DynamoDB: the function answers, retryably, in bounded time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from localapi.template import LocalTemplate
from report.store import dynamodb_client
from tests.support import REPORT_FUNCTION, RUN, body_of, event, job, reply_json, report

FUNCTION_TIMEOUT_S = LocalTemplate.read().function(REPORT_FUNCTION).timeout_s


class Misbehaving(BaseHTTPRequestHandler):
    """Answers UpdateItem normally; for the operations in `behaviour`, throttles, fails or hangs."""

    behaviour: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        operation = self.headers["x-amz-target"].split(".")[-1]
        self.calls.append(operation)
        mode = self.behaviour.get(operation, "ok")
        if mode == "hang":
            time.sleep(30)
            return
        status, body = {
            "ok": (200, {}),
            "throttle": (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"}),
            "error": (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "oops"}),
        }[mode]
        reply_json(self, status, json.dumps(body).encode(), {"content-type": "application/x-amz-json-1.0"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def misbehaving(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Misbehaving]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{server.server_address[1]}")
    Misbehaving.behaviour, Misbehaving.calls = {}, []
    yield Misbehaving
    server.shutdown()


@pytest.mark.parametrize(
    ("behaviour", "kind", "bound_s"),
    [
        ({"UpdateItem": "throttle"}, "throttling on every call", 6),
        ({"UpdateItem": "error"}, "InternalServerError on every call", 6),
        ({"BatchWriteItem": "hang"}, "read timeout on every batch", 12),
    ],
)
def test_function_answers_503_well_before_its_timeout(build, misbehaving, behaviour, kind, bound_s):
    misbehaving.behaviour = behaviour
    invoke = build(dynamodb_client())  # the deployed client configuration: timeouts and retry mode
    started = time.monotonic()
    response = invoke(event(report(job())))
    elapsed = time.monotonic() - started
    assert response["statusCode"] == 503, body_of(response)
    assert elapsed < bound_s < FUNCTION_TIMEOUT_S
    (operation,) = behaviour
    assert misbehaving.calls.count(operation) == 3  # botocore's bounded retries: 3 attempts in all
    RUN["faults"].add(kind)
