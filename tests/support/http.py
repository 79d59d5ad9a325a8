"""The HTTP servers the tests stand up on loopback: a JSON answer in one go, a stand-in for the deployed
API that records what the reference client sends (and checks its SigV4 signatures), and a proxy in
front of the local API that fails on purpose."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials


def reply_json(
    handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None
) -> None:
    """Answer from a test HTTP server: status, headers, a JSON body in one go."""
    handler.send_response(status)
    for name, value in {"content-type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


# --- a stand-in for the deployed API, for the client tests that need HTTP ---------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class Api:
    """The API on a free loopback port: it records every request and answers the next scripted reply,
    else 200 with an envelope that fits every route. `before_reply` runs at each request (a clock that moves)."""

    OK: dict[str, Any] = {  # noqa: RUF012 - read only
        "is_success": True,
        "message": "ok",
        "job": {"job_id": 1, "status": "job_running"},
        "jobs": [],
        "history": [],
        "report": {"message_id": "m1", "received_at": 0, "job_count": 1},
    }

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.replies: list[tuple[int, dict[str, Any]]] = []
        self.before_reply: Callable[[], None] = lambda: None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.answer(self)

            def do_POST(self) -> None:
                api.answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self.seen.append(Seen(handler.command, handler.path, headers, body))
        self.before_reply()
        status, payload = self.replies.pop(0) if self.replies else (200, self.OK)
        reply_json(handler, status, json.dumps(payload).encode())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_api() -> Iterator[Api]:
    api = Api()
    yield api
    api.close()


def access_key(seen: Seen) -> str:
    """The access key in a request's Authorization header."""
    found = re.search(r"Credential=([^/]+)/", seen.headers["authorization"])
    assert found, seen.headers["authorization"]
    return found.group(1)


def signature_verifies(seen: Seen, url: str, credentials: ReadOnlyCredentials, region: str) -> bool:
    """Recompute a received request's SigV4 signature with botocore, over the headers it says it signed."""
    authorization = seen.headers["authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", authorization)
    assert signed, authorization
    headers = {name: seen.headers[name] for name in signed.group(1).split(";")}
    request = AWSRequest(method=seen.method, url=url + seen.path, data=seen.body, headers=headers)
    request.context["timestamp"] = seen.headers["x-amz-date"]
    auth = SigV4Auth(credentials, "execute-api", region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return bool(authorization.endswith(f"Signature={expected}"))


# --- a proxy in front of the local API -------------------------------------------------------------


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
