"""The real client configuration against a misbehaving DynamoDB: the function answers, retryably, in bounded time.

The bound is the client's own configuration (attempts, timeouts, backoff cap), checked against the
function's timeout, never a wall clock: these machines are shared.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from devkit.template import LocalTemplate
from jobstatus import aws
from report.store import WRITERS
from tests.support import REPORT_FUNCTION, RUN, job, report
from tests.support.gateway import body_of, event
from tests.support.http import reply_json

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


# botocore's standard retry mode waits at most this long between two attempts.
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
STANDARD_MAX_BACKOFF_S = 20


def deployed_client() -> object:
    return aws.client("dynamodb", pool=WRITERS)  # the deployed client configuration: timeouts and retry mode


def worst_call_s(client: object) -> float:
    """The longest one call can take: every attempt times out, with the longest backoff between them."""
    config = client.meta.config  # type: ignore[attr-defined]
    attempts = config.retries["total_max_attempts"]
    backoff = sum(min(STANDARD_MAX_BACKOFF_S, 2**i) for i in range(attempts - 1))
    return float(attempts * (config.connect_timeout + config.read_timeout) + backoff)


def test_a_report_of_two_phases_fits_its_timeout_even_when_every_call_times_out():
    # phase 1 (the ledger) and phase 2 (its calls at once), each at worst one call's worst case
    assert 2 * worst_call_s(deployed_client()) < FUNCTION_TIMEOUT_S < 30


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        ({"UpdateItem": "throttle"}, "throttling on every call"),
        ({"UpdateItem": "error"}, "InternalServerError on every call"),
        ({"BatchWriteItem": "hang"}, "read timeout on every batch"),
    ],
)
def test_function_answers_503_after_the_clients_bounded_retries(build, misbehaving, behaviour, kind):
    misbehaving.behaviour = behaviour
    response = build(deployed_client())(event(report(job())))
    assert response["statusCode"] == 503, body_of(response)
    (operation,) = behaviour
    assert misbehaving.calls.count(operation) == 3  # botocore's bounded retries: 3 attempts in all
    RUN["faults"].add(kind)
