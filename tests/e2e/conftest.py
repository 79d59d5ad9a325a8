"""Start the local API the way `make run` does, on free ports, and speak real HTTP to it (tests/support/local.py)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.http import FaultyProxy
from tests.support.local import Local, start_local, stop_local


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
