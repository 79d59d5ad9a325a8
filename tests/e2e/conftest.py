"""Start the local API the way `make run` does, on free ports, and speak real HTTP to it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest

from devkit.template import ROOT
from edgeclient import Retry
from tests.support import reply_json


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Local:
    port: int
    dynamodb_port: int
    log: Path  # what the stack printed

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def post(self, project: str, body: Any, content_type: str | None = "application/json") -> Reply:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"content-type": content_type} if content_type else {}
        return self.request("POST", f"/v1/{project}/edgesrv/job-report", raw, headers)

    def get(self, path: str, query: str = "") -> Reply:
        return self.request("GET", path + (f"?{query}" if query else ""))

    def dynamodb(self) -> Any:
        return self.aws("dynamodb", region="eu-west-1")  # any region sees the same tables

    def aws(self, service: str, region: str = "us-east-1") -> Any:
        """A client of the stack's moto server (DynamoDB, EventBridge, SQS, ...)."""
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.dynamodb_port}", region_name=region)


def stop_local(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Ctrl-C would stop it; if it has not stopped within a minute (a loaded host), its whole
    process group is killed (start_local gives it one): the stack and its function workers."""
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # The group before the wait: until the stack is reaped, its pid names no other group.
        with contextlib.suppress(ProcessLookupError):  # no member left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_local(log: Path, *options: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Local]:
    """`python -m localapi` on free ports; its output goes to `log` (a pipe nobody reads would fill).

    In a session and process group of its own, which its workers join: stop_local, or a test, can
    then kill everything the stack started at once, whatever state it is in."""
    api_port, dynamodb_port = free_port(), free_port()
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localapi",
                "--port",
                str(api_port),
                "--dynamodb-port",
                str(dynamodb_port),
                "--workers",
                "3",
                *options,
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **(env or {})},
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while "Ctrl-C stops." not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is not None or "Ctrl-C stops." not in log.read_text():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail("the local API did not start:\n" + log.read_text())
    return process, Local(api_port, dynamodb_port, log)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    process, api = start_local(tmp_path_factory.mktemp("localapi") / "output.log", "--quiet")
    try:
        yield api
    finally:
        stop_local(process)


FAST = Retry(base_s=0.01, cap_s=0.05, budget_s=10, timeout_s=1)


def url(local: Local) -> str:
    return f"http://127.0.0.1:{local.port}"


class FaultyProxy(BaseHTTPRequestHandler):
    """Fails the first requests as scripted, then forwards to the local API."""

    protocol_version = "HTTP/1.1"
    script: ClassVar[list[str]] = []
    seen: ClassVar[list[str]] = []
    upstream = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.seen.append(json.loads(body)["message_id"])
        fault = self.script.pop(0) if self.script else "forward"
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return
        if fault == "slow":
            time.sleep(2)  # longer than the client's per-attempt timeout
            return
        if fault in ("503", "429"):
            payload = b'{"is_success":false,"message":"retry","error_code":"DLI.0999","error_msg":"retry"}'
            reply_json(self, int(fault), payload, {"retry-after": "0"})
            return
        request = urllib.request.Request(
            self.upstream + self.path, data=body, method="POST", headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request) as answer:
            reply_json(self, answer.status, answer.read())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(local: Local) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyProxy)
    server.daemon_threads = True
    FaultyProxy.upstream, FaultyProxy.script, FaultyProxy.seen = url(local), [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Watch:
    """A rule for every edgesrv.jobs event on the default bus, with an SQS target of its own."""

    def __init__(self, local: Local) -> None:
        self._sqs, events = local.aws("sqs"), local.aws("events")
        name = f"watch-{uuid.uuid4().hex[:8]}"
        self.url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["edgesrv.jobs"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def take(self, wait_s: float, until: Any = None) -> list[dict[str, Any]]:
        """What arrives within wait_s seconds (or as soon as `until(events)` holds)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not (until and until(found)):
            messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in messages.get("Messages", []):
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


def kinds(found: list[dict[str, Any]], project: str) -> list[str]:
    return [e["detail-type"] for e in found if e["detail"]["project_id"] == project]
