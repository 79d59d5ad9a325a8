"""The job-report API on loopback, faithful to the deployed stack, with no Docker and no AWS account.

- DynamoDB is a moto server (default port 8000, the port DynamoDB Local uses), with the
  tables created from template.yaml.
- Each HTTP request becomes a real HTTP API payload-2.0 event and is handled by the function
  named in template.yaml, with its environment, in a pool of worker processes: each worker is
  one "execution environment" that imports the handler once and runs one event at a time, as
  Lambda does. Several workers give real concurrency against DynamoDB.
- What API Gateway answers by itself is answered here too: 404 {"message": "Not Found"} for
  an unknown route or method, 413 for a body over Lambda's 6 MB invoke limit, 500
  {"message": "Internal Server Error"} when the function fails, 503 when it times out.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import re
import secrets
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from moto.iotdata.models import iotdata_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from localapi.template import LOCAL_ACCOUNT, LOCAL_REGION, Function, LocalTemplate
from localapi.worker import init_worker, invoke, ready

# Lambda's synchronous invocation payload limit; a bigger request never reaches the function.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_BODY_BYTES = 6 * 1024 * 1024
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES  # read and discard up to this much so the client sees the 413
# HTTP API passes these content types as text; anything else arrives base64-encoded.
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded)|application/.*\+(json|xml))$"
)
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# --- DynamoDB: moto's server, one request at a time -------------------------------------------


class _SerializedApp:
    """Runs moto's WSGI app one request at a time.

    DynamoDB applies each conditional write atomically; moto's in-memory backend does not
    guarantee that under concurrent threads, so requests are serialized. The credential
    scope's region is also rewritten to the local one, so that any client region sees the
    same tables, as DynamoDB Local does with -sharedDb.
    """

    _SCOPE = re.compile(r"(Credential=[^/]+/\d{8}/)[^/]+/")

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        environ["HTTP_AUTHORIZATION"] = self._SCOPE.sub(rf"\g<1>{LOCAL_REGION}/", auth)
        with self._lock:
            return list(self._app(environ, start_response))


def start_dynamodb(host: str, port: int) -> tuple[Any, threading.Thread]:
    class QuietHandler(MotoRequestHandler):
        disable_nagle_algorithm = True  # without it, every DynamoDB answer waits ~40 ms for a delayed ACK

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = _SerializedApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="dynamodb", daemon=True)
    thread.start()
    return server, thread


# --- the API side -----------------------------------------------------------------------------


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


NOT_FOUND = _json(404, {"message": "Not Found"})
INTERNAL_ERROR = _json(500, {"message": "Internal Server Error"})
UNAVAILABLE = _json(503, {"message": "Service Unavailable"})
_TOO_LARGE_MESSAGE = f"body: over the {MAX_BODY_BYTES // (1024 * 1024)} MB request limit"
TOO_LARGE = _json(
    413,
    {"is_success": False, "message": _TOO_LARGE_MESSAGE, "error_code": "DLI.0009", "error_msg": _TOO_LARGE_MESSAGE},
)


class LocalApi:
    """The local stack: DynamoDB (moto) plus the HTTP API in front of the function's workers."""

    def __init__(
        self,
        template: LocalTemplate | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        dynamodb_port: int = 8000,
        workers: int = 2,
        access_log: bool = True,
    ) -> None:
        self.template = template or LocalTemplate.read()
        self.function: Function = self.template.function()
        self.host = host
        self._port = port
        self._dynamodb_port = dynamodb_port
        self._workers = workers
        self.access_log = access_log
        self._route = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.function.path)) + "$")
        self._pool: ProcessPoolExecutor | None = None
        self._servers: list[Any] = []
        self._published_seen = 0
        self._published_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._servers[1].server_address[1]}"

    @property
    def dynamodb_url(self) -> str:
        return f"http://{self.host}:{self._servers[0].server_address[1]}"

    def start(self) -> LocalApi:
        os.environ.update({k: os.environ.get(k, v) for k, v in DUMMY_CREDENTIALS.items()})
        dynamodb, _ = start_dynamodb(self.host, self._dynamodb_port)
        self._servers.append(dynamodb)
        self.template.create_tables(self.dynamodb_client())
        environment = {
            **DUMMY_CREDENTIALS,
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_LAMBDA_FUNCTION_NAME": self.function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            # moto's server answers IoT publishes too; botocore names the variable after the
            # service id, "IoT Data Plane".
            "AWS_ENDPOINT_URL_IOT_DATA_PLANE": self.dynamodb_url,
            "PYTHONUNBUFFERED": "1",  # the function's log lines appear as they are written
            **self.function.environment,
        }
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(str(self.function.code_dir), self.function.module, self.function.handler, environment),
        )
        # Start every worker now (its cold start), not on the first requests.
        for future in [self._pool.submit(ready) for _ in range(self._workers)]:
            future.result(timeout=120)
        api = _HttpServer((self.host, self._port), _handler_class(self))
        self._servers.append(api)
        threading.Thread(target=api.serve_forever, name="api", daemon=True).start()
        return self

    def stop(self) -> None:
        for server in reversed(self._servers):
            server.shutdown()
            server.server_close()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def new_confirmations(self) -> list[tuple[str, bytes]]:
        """Messages the function published to IoT Core (moto) since the last call."""
        published = iotdata_backends[LOCAL_ACCOUNT][LOCAL_REGION].published_payloads
        with self._published_lock:
            fresh, self._published_seen = published[self._published_seen :], len(published)
        return list(fresh)

    def dynamodb_client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_url,
            region_name=LOCAL_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
        )

    # --- one request ------------------------------------------------------------------------

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
        raw_path, _, query = target.partition("?")
        if method == "GET" and (raw_path == "/swagger" or raw_path.startswith("/swagger/")):
            return self._explorer(raw_path)
        match = self._route.match(raw_path)
        if method != self.function.method or not match:
            return NOT_FOUND
        event = self._event(
            method, raw_path, query, headers, body, source_ip=source_ip, path_parameters=match.groupdict()
        )
        if len(json.dumps(event)) > MAX_BODY_BYTES:
            return TOO_LARGE
        if self._pool is None:
            raise RuntimeError("LocalApi.start() was not called")
        future = self._pool.submit(
            invoke, event, self.function.logical_id, self.function.memory_mb, self.function.timeout_s
        )
        try:
            result = future.result(timeout=self.function.timeout_s + 5)
        except FutureTimeout:
            return UNAVAILABLE
        except Exception as exc:  # noqa: BLE001 - the function failed: API Gateway answers 500
            print(f"function error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return INTERNAL_ERROR
        return result if isinstance(result, dict) and "statusCode" in result else _json(200, result)

    def _explorer(self, path: str) -> dict[str, Any]:
        """The API explorer of the original API page: Swagger UI on the OpenAPI document, local only."""
        from localapi import openapi  # noqa: PLC0415 - built on first use, never in the function

        vendored = all((openapi.SWAGGER_UI / name).exists() for name in openapi.SWAGGER_UI_FILES)
        if path == "/swagger":
            assets = "/swagger/assets" if vendored else openapi.SWAGGER_UI_CDN
            page = openapi.swagger_page("/swagger/openapi.json", assets)
            return {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": page}
        name = path.removeprefix("/swagger/assets/")
        if path.startswith("/swagger/assets/") and vendored and name in openapi.SWAGGER_UI_FILES:
            kind = "text/css" if name.endswith(".css") else "application/javascript"
            body = base64.b64encode((openapi.SWAGGER_UI / name).read_bytes()).decode()
            return {"statusCode": 200, "headers": {"content-type": kind}, "body": body, "isBase64Encoded": True}
        if path != "/swagger/openapi.json":
            return NOT_FOUND
        spec = openapi.document() | {"servers": [{"url": self.url, "description": "make run"}]}
        # The local API does not check SigV4 (API Gateway does, when deployed): no security here.
        for operation in spec["paths"].values():
            for method in operation.values():
                method.pop("security", None)
        spec["components"].pop("securitySchemes", None)
        return _json(200, spec)

    def _event(
        self,
        method: str,
        raw_path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        *,
        source_ip: str,
        path_parameters: dict[str, str],
    ) -> dict[str, Any]:
        now = time.time()
        request_id = base64.b64encode(secrets.token_bytes(12)).decode()
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            text: str | None = body.decode("utf-8") if _TEXT_TYPES.match(content_type) else None
        except UnicodeDecodeError:
            text = None
        route_key = f"{self.function.method} {self.function.path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": LOCAL_ACCOUNT,
                "apiId": "local",
                "domainName": headers.get("host", self.host),
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": "$default",
                "time": formatdate(now, usegmt=True),
                "timeEpoch": int(now * 1000),
            },
            "pathParameters": {k: unquote(v) for k, v in path_parameters.items()},
            "isBase64Encoded": text is None and bool(body),
        }
        if query:
            event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            event["body"] = text if text is not None else base64.b64encode(body).decode()
        return event


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: a burst of agents must queue, not be reset (default 5)


def _handler_class(api: LocalApi) -> type[BaseHTTPRequestHandler]:
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
            for topic, payload in api.new_confirmations():
                print(f"IoT publish to {topic}: {payload.decode()}", file=sys.stderr)
            if api.access_log:
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
