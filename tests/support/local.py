"""The local stack (`python -m localapi`) as the e2e tests start, stop and speak to it: real HTTP to its
API, boto3 to its moto server; and the isolated tools that run against it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from devkit.template import ROOT
from edgeclient import Retry

# The reference client's retries, fast: a test's faults are over in milliseconds.
FAST = Retry(base_s=0.01, cap_s=0.05, budget_s=10, timeout_s=1)


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def items(self, project: str) -> dict[str, list[dict[str, Any]]]:
        """Every item of both tables under this project's keys."""
        client = self.dynamodb()
        found: dict[str, list[dict[str, Any]]] = {}
        for table in ("JobStatusTable", "IdempotencyTable"):
            pages = client.get_paginator("scan").paginate(
                TableName=table,
                FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": project}},
            )
            found[table] = sorted(
                (i for page in pages for i in page["Items"]), key=lambda i: str(i["pk"]) + str(i.get("sk"))
            )
        return found


def tool(name: str, variable: str) -> str:
    """An isolated tool's path (`make tools`), from its variable; skipped when missing, failed in `make test`."""
    path = os.environ.get(variable) or str(ROOT / ".tools" / "sam" / "bin" / name)
    if Path(path).is_dir():
        path = str(Path(path) / name)
    if not Path(path).exists():
        if os.environ.get("REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is missing: run `make tools`")
        pytest.skip(f"{name} is not installed (`make tools`)")
    return path


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


def wait_for[T](read: Callable[[], T], done: Callable[[T], bool], *, reads: int = 300, every_s: float = 0.1) -> T:
    """Read until `done` holds of what was read, at most `reads` times `every_s` apart; the last value
    read, for the caller to assert on (a condition wait, not a deadline: it ends as soon as it holds)."""
    value = read()
    for _ in range(reads - 1):
        if done(value):
            break
        time.sleep(every_s)
        value = read()
    return value
