"""Start the local API the way `make run` does, on free ports, and speak real HTTP to it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from localapi.template import ROOT


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

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{self.dynamodb_port}", region_name="eu-west-1")


def start_local(log: Path, *options: str) -> tuple[subprocess.Popen[bytes], Local]:
    """`python -m localapi` on free ports; its output goes to `log` (a pipe nobody reads would fill)."""
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
            env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        )
    deadline = time.monotonic() + 120
    while "Ctrl-C stops." not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is not None or "Ctrl-C stops." not in log.read_text():
        process.kill()
        pytest.fail("the local API did not start:\n" + log.read_text())
    return process, Local(api_port, dynamodb_port)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    process, api = start_local(tmp_path_factory.mktemp("localapi") / "output.log", "--quiet")
    try:
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)
