"""The AWS calls a function makes, recorded by a botocore hook as the IAM requests they are.

A client handed to a function's handler in the tests is registered for that function
(`CallRecorder.attach`); every call it makes is then recorded as (function, action, resource ARN),
the request IAM evaluates. An operation this module does not know how to map fails the call: a new
kind of AWS call must be mapped here, and so comes under the IAM evaluation.
"""

from __future__ import annotations

import threading
from typing import Any

from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION

Request = tuple[str, str]  # (IAM action, resource ARN)
Call = tuple[str, str, str]  # (function logical id, IAM action, resource ARN)
_DYNAMODB = f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}"
# Each item of a transaction is authorized as the single-item action it is.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _table(name: str) -> str:
    return name if name.startswith("arn:") else f"{_DYNAMODB}:table/{name}"


def _dynamodb(operation: str, params: dict[str, Any]) -> list[Request]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table(table)) for table in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            requests.append((f"dynamodb:{_TRANSACT.get(kind, 'GetItem')}", _table(request["TableName"])))
        return requests
    table = _table(params["TableName"])
    if "IndexName" in params:  # Query and Scan on an index are authorized on the index
        return [(f"dynamodb:{operation}", f"{table}/index/{params['IndexName']}")]
    return [(f"dynamodb:{operation}", table)]


def _events(operation: str, params: dict[str, Any]) -> list[Request]:
    buses = {entry.get("EventBusName") or "default" for entry in params["Entries"]}
    region, account = LOCAL_REGION, LOCAL_ACCOUNT
    return [
        (f"events:{operation}", bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}")
        for bus in sorted(buses)
    ]


def _secretsmanager(operation: str, params: dict[str, Any]) -> list[Request]:
    secret = params["SecretId"]
    if not secret.startswith("arn:"):
        secret = f"arn:aws:secretsmanager:{LOCAL_REGION}:{LOCAL_ACCOUNT}:secret:{secret}"
    return [(f"secretsmanager:{operation}", secret)]


def _iot_data(operation: str, params: dict[str, Any]) -> list[Request]:
    return [(f"iot:{operation}", f"arn:aws:iot:{LOCAL_REGION}:{LOCAL_ACCOUNT}:topic/{params['topic']}")]


_SERVICES = {
    "dynamodb": _dynamodb,
    "events": _events,
    "secretsmanager": _secretsmanager,
    "iot-data": _iot_data,
}


def requests_of(service: str, operation: str, params: dict[str, Any]) -> list[Request]:
    """The IAM requests (action, resource ARN) one SDK call makes."""
    if service not in _SERVICES:
        raise ValueError(f"{service}:{operation} is not mapped to IAM requests (tests/iam/calls.py)")
    return _SERVICES[service](operation, params)


class CallRecorder:
    """Records every call of the clients attached to it, per function, as IAM requests."""

    def __init__(self) -> None:
        self.calls: set[Call] = set()
        self._lock = threading.Lock()

    def attach(self, client: Any, function: str) -> Any:
        """Record this client's calls as `function`'s (a botocore hook on this client only); returns it."""

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            found = requests_of(model.service_model.service_name, model.name, params)
            with self._lock:
                self.calls |= {(function, action, resource) for action, resource in found}

        client.meta.events.register("provide-client-params.*.*", record)
        return client

    def of(self, function: str) -> set[Request]:
        return {(action, resource) for name, action, resource in self.calls if name == function}


# What the whole test run's handlers called (tests/conftest.py evaluates it when the run ends).
RECORDER = CallRecorder()
