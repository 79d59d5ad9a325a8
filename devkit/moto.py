"""moto, as the local stack, the tests and the bench use it: its server, clients for it, a serialized
client, and moto in process with the template's tables.

The server (default port 8000, DynamoDB Local's port, under `make run`) serves every AWS API the
functions call (DynamoDB, Secrets Manager, EventBridge, IoT data, and the rest moto knows), so one
endpoint URL stands in for all of them.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from devkit.template import LOCAL_REGION, LocalTemplate

# Against moto the functions' DynamoDB read timeout (DYNAMODB_READ_TIMEOUT_SECONDS; 2 s deployed).
# moto answers a conditional write in about 25 ms and one at a time, where DynamoDB takes a few ms
# and runs them in parallel: a 100-job report's 104 calls would outlast 2 s while they queue
# (docs/design.md, "Local run"). The local stack and the sam local tests set it.
LOCAL_READ_TIMEOUT_S = 20

# moto (5.2.5) deep-copies every table a TransactWriteItems writes before it applies it, to put the
# copy back if a write's condition fails: the whole table, with every stream record it ever wrote,
# so that each transaction took longer as a local run went on (0.37 s at 5,000 items; the events
# function counts each change of a job with one). Here the copy a transaction takes holds its own
# items deep and the others by reference (a transaction changes only its own items), and the stream
# records written so far (which never change). Put back after a failed condition, the copy is the
# table as it was, as moto's would be; like moto's it is a new table object, so a stream reader
# follows sequence numbers, not a shard iterator (devkit.streams.ShardReader).
_WRITTEN = threading.local()  # the keys the running transaction writes, by table name
_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    keys: dict[str, list[dict[str, Any]]] = {}
    for item in transact_items:
        for op in item.values():
            if isinstance(op, dict) and op.get("TableName") in self.tables:
                table = self.tables[op["TableName"]]
                key = op.get("Key") or {name: op.get("Item", {}).get(name) for name in table.table_key_attrs}
                keys.setdefault(op["TableName"], []).append(key)
    _WRITTEN.keys = keys
    try:
        _moto_transact_write_items(self, transact_items)
    finally:
        _WRITTEN.keys = None


def _table_deepcopy(self: Table, memo: dict[int, Any]) -> Table:
    written = (getattr(_WRITTEN, "keys", None) or {}).get(self.name)
    if written is None:  # any other deep copy: as copy.deepcopy makes it of a plain object
        reduced = self.__reduce_ex__(4)
        return copy._reconstruct(self, memo, *reduced)  # type: ignore[attr-defined,no-any-return]
    twin = copy.copy(self)
    twin.items = defaultdict(dict)
    for hash_value, held in self.items.items():
        twin.items[hash_value] = dict(held) if self.has_range_key else held
    for key in written:
        hash_value = DynamoType(key[self.hash_key_attr])
        if self.has_range_key:
            range_value = DynamoType(key[self.range_key_attr])
            if range_value in self.items.get(hash_value, {}):
                twin.items[hash_value][range_value] = copy.deepcopy(self.items[hash_value][range_value], memo)
        elif hash_value in self.items:
            twin.items[hash_value] = copy.deepcopy(self.items[hash_value], memo)
    if self.stream_shard is not None:
        twin.stream_shard = copy.copy(self.stream_shard)
        twin.stream_shard.items = list(self.stream_shard.items)
        twin.stream_shard.table = twin
    return twin


DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]

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
