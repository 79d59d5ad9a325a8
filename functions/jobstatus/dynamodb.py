"""DynamoDB, once for every function: a table's calls, the AttributeValue form, item sizes, fan-out.

Every function's data-access module is a list of intents built on `Table`; nothing else in a
function touches DynamoDB. A call's SDK failure becomes the domain fault it means
(`jobstatus.aws.fault`); a conditional write's failed condition is an answer (`ConditionFailed`,
with the item as it was), not an exception, where the caller asks for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobstatus.aws import backoff_s, error_code, fault
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


@dataclass(frozen=True, slots=True)
class ConditionFailed:
    """A conditional write whose condition did not hold: nothing was written. `item` is the item as
    it was (ReturnValuesOnConditionCheckFailure=ALL_OLD), None when there was none."""

    item: Item | None


class Table:
    """The calls this service makes of one table, through one shared client."""

    def __init__(self, client: Any, name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.name = name
        self._sleep = sleep

    def call(self, operation: str, **request: Any) -> Any:
        """One call on this table; an SDK failure becomes the domain fault it means."""
        try:
            return getattr(self.client, operation)(TableName=self.name, **request)
        except (ClientError, BotoCoreError) as exc:
            raise fault(exc) from exc

    def write(self, operation: str, **request: Any) -> Any:
        """A conditional write (UpdateItem, PutItem): its answer, or ConditionFailed with the item as it was."""
        try:
            return getattr(self.client, operation)(
                TableName=self.name, ReturnValuesOnConditionCheckFailure="ALL_OLD", **request
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return ConditionFailed(exc.response.get("Item"))
            raise fault(exc) from exc
        except BotoCoreError as exc:
            raise fault(exc) from exc

    def get(self, key: Item, attributes: Sequence[str] = ()) -> Item | None:
        """The item (strongly consistent), or only these attributes of it; None when there is none."""
        request: dict[str, Any] = {"Key": key, "ConsistentRead": True}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            request |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        found: Item | None = self.call("get_item", **request).get("Item")
        return found

    def query(self, **request: Any) -> tuple[list[Item], Item | None]:
        """One page of a Query: its items, and the key to go on from (None on the last page)."""
        response = self.call("query", **request)
        return response.get("Items", []), response.get("LastEvaluatedKey")

    def query_all(self, **request: Any) -> list[Item]:
        """Every page of a Query: its items, in order."""
        found: list[Item] = []
        while True:
            items, start = self.query(**request)
            found += items
            if start is None:
                return found
            request["ExclusiveStartKey"] = start

    def read_batch(
        self, keys: list[Item], attributes: Sequence[str] = (), *, consistent: bool = True
    ) -> tuple[list[Item], list[Item]]:
        """The items of up to BATCH_GET_SIZE keys (or only these attributes of them), strongly consistent
        unless asked otherwise (half the read units): (found, keys still unprocessed after BATCH_ATTEMPTS).
        The caller decides what keys left over mean."""
        request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": consistent}}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            request[self.name] |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        found: list[Item] = []
        for _ in self._attempts():
            response = self._batch("batch_get_item", request)
            found += response.get("Responses", {}).get(self.name, [])
            request = response.get("UnprocessedKeys") or {}  # with the projection, as DynamoDB hands it back
            if not request:
                return found, []
        return found, list(request[self.name]["Keys"])

    def read_many(
        self, keys: Sequence[Item], pool: Executor, attributes: Sequence[str] = (), *, consistent: bool = True
    ) -> tuple[list[Item], list[Item]]:
        """The items of any number of keys: BATCH_GET_SIZE keys a call, the calls at once; (found, keys
        still unprocessed after the retries)."""
        found: list[Item] = []
        unprocessed: list[Item] = []
        read = partial(self.read_batch, attributes=attributes, consistent=consistent)
        tasks = [partial(read, chunk) for chunk in chunked(keys, BATCH_GET_SIZE)]
        for items, left in in_parallel(pool, tasks):
            found += items
            unprocessed += left
        return found, unprocessed

    def read_all(
        self, keys: Sequence[Item], pool: Executor, attributes: Sequence[str] = (), *, consistent: bool = True
    ) -> list[Item]:
        """The items of any number of keys, as read_many reads them; DependencyUnavailable (a 503, or a
        retried batch) unless every key was answered: an answer must be whole."""
        items, unprocessed = self.read_many(keys, pool, attributes, consistent=consistent)
        if unprocessed:
            raise DependencyUnavailable("DynamoDB left keys unprocessed after retries")
        return items

    def write_batch(self, items: list[Item]) -> None:
        """Put up to BATCH_WRITE_SIZE items; DependencyUnavailable unless all landed after BATCH_ATTEMPTS."""
        request: dict[str, Any] = {self.name: [{"PutRequest": {"Item": item}} for item in items]}
        for _ in self._attempts():
            request = self._batch("batch_write_item", request).get("UnprocessedItems") or {}
            if not request:
                return
        raise DependencyUnavailable("DynamoDB left items unprocessed after retries")

    def transact(self, items: list[dict[str, Any]]) -> list[ConditionFailed | None] | None:
        """One TransactWriteItems of these writes on this table ({"Update": {...}} and the like): None
        when it was applied; when a condition failed, nothing was written, and each write's answer is
        ConditionFailed (with the item as it was) or None. A conflict with another transaction on the
        same items is retried with backoff, a bounded number of times.
        https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
        """
        request = [
            {kind: write | {"TableName": self.name, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
            for item in items
            for kind, write in item.items()
        ]
        for _ in self._attempts():  # a conflict (or a throttled item): the transaction is safe to repeat
            try:
                self.client.transact_write_items(TransactItems=request)
                return None
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise fault(exc) from exc
                reasons = exc.response.get("CancellationReasons", [])
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                    return [
                        ConditionFailed(r.get("Item")) if r.get("Code") == "ConditionalCheckFailed" else None
                        for r in reasons
                    ]
            except BotoCoreError as exc:
                raise fault(exc) from exc
        raise DependencyUnavailable("a transaction kept conflicting with others after retries")

    def _attempts(self) -> Iterator[int]:
        """BATCH_ATTEMPTS attempts, a capped, jittered backoff between two."""
        for attempt in range(BATCH_ATTEMPTS):
            if attempt:
                self._sleep(backoff_s(attempt - 1, BACKOFF_BASE_S, BACKOFF_CAP_S))
            yield attempt

    def _batch(self, operation: str, request: dict[str, Any]) -> Any:
        try:
            return getattr(self.client, operation)(RequestItems=request)
        except (ClientError, BotoCoreError) as exc:
            raise fault(exc) from exc


def in_parallel[T](pool: Executor, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Calls that do not depend on each other, at once; their results in order. Every call finishes
    before the first error, if any, is raised: a caller that retries never races its own writes.
    The last call runs on the caller's thread (a single one needs no hand-off at all)."""
    futures: list[Future[T]] = [pool.submit(task) for task in tasks[:-1]]
    results: list[T] = []
    errors: list[BaseException] = []
    last: list[T] = []
    if tasks:
        try:
            last.append(tasks[-1]())
        except Exception as exc:  # noqa: BLE001 - kept, then raised once every call has finished
            errors.append(exc)
    for future in futures:
        if (error := future.exception()) is not None:
            errors.append(error)
        else:
            results.append(future.result())
    if errors:
        raise errors[0]
    return results + last


def chunked[T](items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- the AttributeValue form ---------------------------------------------------------------------


def serialize(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue.

    boto3's TypeSerializer does this, but importing boto3 costs about 30 ms of cold start (see
    jobstatus.aws). Inputs are already validated: str, bool, None, int, Decimal, list, dict.
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


def values(item: Item) -> dict[str, Any]:
    """An item as plain values, attribute by attribute."""
    return {name: deserialize(value) for name, value in item.items()}


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
