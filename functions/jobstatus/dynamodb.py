"""DynamoDB through botocore: the client, the AttributeValue form, item sizes, and what a failure means.

Every function's data-access module builds on this; nothing else in a function touches DynamoDB.
The functions use botocore, not boto3: `import boto3` pulls in s3transfer, about 30 ms of cold
start for nothing a DynamoDB function uses (make bench).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from decimal import Decimal
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from jobstatus.errors import DependencyUnavailable

Item = dict[str, Any]  # one item in DynamoDB's AttributeValue form

# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
MAX_ITEM_BYTES = 400 * 1024
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
BATCH_WRITE_SIZE = 25
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
BATCH_GET_SIZE = 100
# Unprocessed items and keys of a batch call are retried with capped exponential backoff and
# full jitter, a bounded number of times, so that a function always answers well inside its
# timeout (botocore's own retries cover the call as a whole, not what a 200 left unprocessed).
BATCH_ATTEMPTS = 6
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.05, 0.8


def backoff_s(attempt: int, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Full jitter: a random wait below a capped exponential. It guards nothing, so a
    non-cryptographic generator is right."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))  # noqa: S311 # nosec B311


def batch_get(
    call: Callable[..., Any], table: str, keys: list[Item], *, sleep: Callable[[float], None]
) -> tuple[list[Item], list[Item]]:
    """The items of up to BATCH_GET_SIZE keys of one table, strongly consistent, through `call`
    (a store's call wrapper, which turns SDK errors into domain faults): (found, keys still
    unprocessed after BATCH_ATTEMPTS). The caller decides what keys left over mean."""
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    found: list[Item] = []
    for attempt in range(BATCH_ATTEMPTS):
        response = call("batch_get_item", RequestItems=request)
        found += response.get("Responses", {}).get(table, [])
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found, []
        if attempt + 1 < BATCH_ATTEMPTS:
            sleep(backoff_s(attempt))
    return found, list(request[table]["Keys"])


# DynamoDB answers in milliseconds: a call still unanswered after this is a fault worth retrying.
DEFAULT_READ_TIMEOUT_S = 2.0


def dynamodb_client(*, max_pool_connections: int = 10, read_timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Any:
    """One client per execution environment, shared by every call and thread (botocore clients are thread-safe).

    Timeouts are short because DynamoDB answers in milliseconds (the read timeout is a setting,
    2 s by default); botocore's standard retry mode retries throttling and 5xx with backoff.
    Worst case per call: 3 attempts x 3 s plus backoff, and each function's timeout
    (template.yaml) allows for its sequential calls.

    Client-side parameter validation is off, as botocore documents for performance: every
    request is built by this service's own code, the tests send each shape to moto, and
    DynamoDB validates again on its side (a refused request is a 500, see `fault`). It saves
    about 5% of the CPU per 1-job report and 10% per 25-job report (make bench).
    """
    return botocore.session.get_session().create_client(
        "dynamodb",
        config=Config(
            connect_timeout=1,
            read_timeout=read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=max_pool_connections,
            tcp_keepalive=True,
            parameter_validation=False,
        ),
    )


def serialize(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue.

    boto3's TypeSerializer does this, but importing boto3 costs about 30 ms of cold start (see
    the module docstring). Inputs are already validated: str, bool, None, int, Decimal, list, dict.
    """
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: serialize(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def deserialize(value: dict[str, Any]) -> Any:
    """An AttributeValue as the JSON value it was stored from: integers as int, other numbers as Decimal."""
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return int(data) if data.lstrip("-").isdigit() else Decimal(data)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    if kind == "L":
        return [deserialize(v) for v in data]
    raise ValueError(f"unexpected attribute type {kind}")


def item_size(item: Item) -> int:
    """Bytes as DynamoDB counts them for the 400 KB limit and for capacity units.

    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
    """
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = len(data.lstrip("-").replace(".", "").split("E")[0].strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in data)
    raise ValueError(f"unexpected attribute type {kind}")


def write_units(item: Item) -> int:
    """On-demand write request units for one put of this item (1 per started KB)."""
    return max(1, -(-item_size(item) // 1024))


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def fault(exc: ClientError | BotoCoreError) -> Exception:
    """Throttling, 5xx and network faults are retryable (503); a refused request is a bug (500)."""
    if isinstance(exc, ClientError) and error_code(exc) == "ValidationException":
        return RuntimeError(f"DynamoDB refused a request: {exc}")
    return DependencyUnavailable(type(exc).__name__)


def call(client: Any, operation: str, **request: Any) -> Any:
    """One DynamoDB call; an SDK failure becomes the domain fault it means (`fault`)."""
    try:
        return getattr(client, operation)(**request)
    except (ClientError, BotoCoreError) as exc:
        raise fault(exc) from exc


def in_parallel[T](pool: Executor, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Calls that do not depend on each other, at once on the pool; results in order (a single one
    runs on the caller's thread, with no hand-off)."""
    if len(tasks) == 1:
        return [tasks[0]()]
    futures = [pool.submit(task) for task in tasks]
    return [future.result() for future in futures]
