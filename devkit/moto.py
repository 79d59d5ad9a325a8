"""moto, as the local stack, the tests and the bench use it: its server, clients for it, a serialized
client, and moto in process with the template's tables.

The server (default port 8000, DynamoDB Local's port, under `make run`) serves every AWS API the
functions call (DynamoDB, Secrets Manager, EventBridge, IoT data, and the rest moto knows), so one
endpoint URL stands in for all of them.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from devkit.template import LOCAL_REGION, LocalTemplate

# Against moto the functions' DynamoDB read timeout (DYNAMODB_READ_TIMEOUT_SECONDS; 2 s deployed).
# moto answers a conditional write in about 25 ms and one at a time, where DynamoDB takes a few ms
# and runs them in parallel: a 100-job report's 104 calls would outlast 2 s while they queue
# (docs/design.md, "Local run"). The local stack and the sam local tests set it.
LOCAL_READ_TIMEOUT_S = 20

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class _SerializedApp:
    """Runs moto's WSGI app, DynamoDB requests one at a time.

    DynamoDB applies each conditional write atomically; moto's in-memory backend does not
    guarantee that under concurrent threads, so DynamoDB requests are serialized. Nothing else
    is: an SQS long poll (a rule's target queue, read with WaitTimeSeconds) must not hold up the
    tables. The credential scope's region is also rewritten to the local one, so that any client
    region sees the same tables, as DynamoDB Local does with -sharedDb.
    """

    _SCOPE = re.compile(r"(Credential=[^/]+/\d{8}/)[^/]+/")

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        environ["HTTP_AUTHORIZATION"] = self._SCOPE.sub(rf"\g<1>{LOCAL_REGION}/", auth)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_20120810."):
            with self._lock:
                return list(self._app(environ, start_response))
        return list(self._app(environ, start_response))


def start_moto(host: str, port: int) -> Any:
    """moto's server on host:port (0 picks a free port), serving in a daemon thread."""

    class QuietHandler(MotoRequestHandler):
        disable_nagle_algorithm = True  # without it, every answer waits ~40 ms for a delayed ACK

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = _SerializedApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def client(service: str, endpoint_url: str, config: Config | None = None) -> Any:
    """A boto3 client for the local moto server (dummy credentials, the local region)."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=config,
    )


class SerializedClient:
    """A boto3 client whose calls run one at a time, for moto in process (`mock_aws`): moto numbers
    stream records by the count it holds, so two concurrent writes (the report's phase 2) can
    share a sequence number, and a shard iterator then reads one of them twice, or a partial batch
    response names two records at once. DynamoDB's numbers are unique. (The moto server of the
    local stack serializes its requests itself: _SerializedApp.)"""

    def __init__(self, client: Any) -> None:
        self._client, self._lock = client, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)

        def serialized(**request: Any) -> Any:
            with self._lock:
                return call(**request)

        return serialized


@contextmanager
def in_process(template: LocalTemplate) -> Iterator[Any]:
    """moto in this process (`mock_aws`) with the template's tables and secrets created: its DynamoDB client.

    Clients made inside (of any service moto knows) reach the same backends. Account-based endpoints
    are off meanwhile: botocore would send DynamoDB Streams calls to an account's host, which moto
    in process does not match.
    """
    with mock.patch.dict(os.environ, {"AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}), mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION)
        template.create_tables(dynamodb)
        template.create_secrets(boto3.client("secretsmanager", region_name=LOCAL_REGION))
        yield dynamodb
