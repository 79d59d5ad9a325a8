"""Start the local API the way `make run` does, on free ports, and speak real HTTP to it (tests/support/local.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from devkit.template import ROOT
from tests.support.http import FaultyProxy
from tests.support.local import Local, free_port

__all__ = ["free_port"]  # tests/infra/samlocal.py imports it from here


def stop_local(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Ctrl-C would stop it; killed if it has not stopped within a minute (a loaded host)."""
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_local(log: Path, *options: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Local]:
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
            env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **(env or {})},
        )
    deadline = time.monotonic() + 120
    while "Ctrl-C stops." not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is not None or "Ctrl-C stops." not in log.read_text():
        process.kill()
        pytest.fail("the local API did not start:\n" + log.read_text())
    return process, Local(api_port, dynamodb_port, log)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    process, api = start_local(tmp_path_factory.mktemp("localapi") / "output.log", "--quiet")
    try:
        yield api
    finally:
        stop_local(process)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Local]]:
    """A stack of the test's own (`python -m localapi` with these options, or this environment), stopped
    when the test ends; its output is in its `log`."""
    processes: list[subprocess.Popen[bytes]] = []

    def started(*options: str, env: dict[str, str] | None = None) -> Local:
        process, stack = start_local(tmp_path / f"output-{len(processes)}.log", *options, env=env)
        processes.append(process)
        return stack

    yield started
    for process in processes:
        stop_local(process)


@pytest.fixture
def proxy(local: Local) -> Iterator[str]:
    """A proxy in front of the local API that fails the requests its script says (FaultyProxy)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyProxy)
    server.daemon_threads = True
    FaultyProxy.upstream, FaultyProxy.script, FaultyProxy.seen = local.url, [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
