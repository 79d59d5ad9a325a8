"""The HTTP API: one route table across every function's HttpApi routes, payload-2.0 events, and
what API Gateway answers by itself.

- A request whose method and path match a route becomes a real HTTP API payload-2.0 event for
  that route's function.
- What API Gateway answers without the function is answered here too, in API Gateway's own form
  (never the function's DLI envelope, which only the function writes): 404 {"message": "Not
  Found"} for an unknown route or method, 413 {"message": "Request Entity Too Large"} for a
  request over Lambda's 6 MB invoke limit, 500 {"message": "Internal Server Error"} when the
  function fails, 503 when it times out.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from devkit.events import http_event, match
from devkit.template import HttpRoute
from jobstatus.http import NOT_FOUND_BODY, TOO_LARGE_BODY
from localapi.runtime import FunctionError, FunctionRuntime, FunctionTimeout

# Lambda's synchronous invocation payload limit; a bigger request never reaches the function.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
# An HTTP API accepts bodies up to 10 MB, but Lambda refuses an event over 6 MB
# (RequestEntityTooLargeException), and the HTTP API then answers 413 {"message": "Request Entity
# Too Large"}: the answer AWS's own API Gateway emulator gives for it (aws/aws-lambda-dotnet,
# Tools/LambdaTestTool-v2, LargePayloadTests.cs; docs/design.md).
MAX_BODY_BYTES = 6 * 1024 * 1024
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES  # read and discard up to this much so the client sees the 413


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


NOT_FOUND = json_response(404, NOT_FOUND_BODY)
INTERNAL_ERROR = json_response(500, {"message": "Internal Server Error"})
UNAVAILABLE = json_response(503, {"message": "Service Unavailable"})
TOO_LARGE = json_response(413, TOO_LARGE_BODY)


class HttpApi:
    """Routes requests to the functions' runtimes; `extra` answers paths no route owns (the explorer)."""

    def __init__(
        self,
        routes: list[HttpRoute],
        runtimes: dict[str, FunctionRuntime],
        *,
        host: str,
        extra: Callable[[str, str], dict[str, Any] | None] | None = None,
    ) -> None:
        self._routes = routes
        self._runtimes = runtimes
        self._host = host
        self._extra = extra

    @property
    def routes(self) -> list[HttpRoute]:
        return self._routes

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
        raw_path, _, query = target.partition("?")
        if self._extra is not None and (answer := self._extra(method, raw_path)) is not None:
            return answer
        matched = match(self._routes, method, raw_path)
        if matched is None:
            return NOT_FOUND
        route, path_parameters = matched
        request_id = base64.b64encode(secrets.token_bytes(12)).decode()
        event = http_event(
            route,
            raw_path,
            path_parameters,
            query=query,
            headers=headers,
            body=body,
            request_id=request_id,
            source_ip=source_ip,
            host=self._host,
        )
        if len(json.dumps(event)) > MAX_BODY_BYTES:
            return TOO_LARGE
        try:
            result = self._runtimes[route.function].invoke(event, request_id)
        except FunctionTimeout:
            return UNAVAILABLE
        except FunctionError as exc:  # the function failed: API Gateway answers 500
            print(f"function error: {exc}", file=sys.stderr)
            return INTERNAL_ERROR
        return result if isinstance(result, dict) and "statusCode" in result else json_response(200, result)

    def serve(self, host: str, port: int, *, access_log: bool, after: Callable[[], None] | None = None) -> Any:
        """The HTTP server on host:port in a daemon thread; `after` runs after each answer."""
        server = _HttpServer((host, port), _handler_class(self, access_log, after))
        threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
        return server


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: a burst of agents must queue, not be reset (default 5)


def _handler_class(api: HttpApi, access_log: bool, after: Callable[[], None] | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # without it, every response waits ~40 ms for a delayed ACK
        server_version = "local-http-api"

        def _serve(self) -> None:
            started = time.perf_counter()
            headers: dict[str, str] = {}
            for name, value in self.headers.items():  # HTTP API joins repeated headers with commas
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            body, too_large = self._read_body()
            if too_large:
                response = TOO_LARGE
            else:
                target = urlsplit(self.path)
                path = target.path + (f"?{target.query}" if target.query else "")
                response = api.respond(self.command, path, headers, body, self.client_address[0])
            self._write(response)
            if after is not None:
                after()
            if access_log:
                elapsed = (time.perf_counter() - started) * 1000
                print(f"{self.command} {self.path} {response['statusCode']} {elapsed:.0f} ms", file=sys.stderr)

        def _read_body(self) -> tuple[bytes, bool]:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                return self._read_chunked()
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                if length <= _DRAIN_LIMIT:
                    self.rfile.read(length)
                else:
                    self.close_connection = True
                return b"", True
            return self.rfile.read(length), False

        def _read_chunked(self) -> tuple[bytes, bool]:
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if total <= MAX_BODY_BYTES:
                    parts.append(chunk)
                elif total > _DRAIN_LIMIT:
                    self.close_connection = True
                    return b"", True
            return b"".join(parts), total > MAX_BODY_BYTES

        def _write(self, response: dict[str, Any]) -> None:
            body = response.get("body") or ""
            payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
            self.send_response(int(response["statusCode"]))
            for name, value in (response.get("headers") or {}).items():
                self.send_header(name, str(value))
            for name, values in (response.get("multiValueHeaders") or {}).items():
                for value in values:
                    self.send_header(name, str(value))
            for cookie in response.get("cookies") or []:
                self.send_header("set-cookie", cookie)
            self.send_header("apigw-requestid", secrets.token_hex(8))
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            # Every method, TRACE or made up, gets the route table's answer (404), as API Gateway
            # gives, instead of http.server's 501 page.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # one access line per request is printed by _serve

    return Handler
