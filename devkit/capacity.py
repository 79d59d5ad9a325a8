"""What DynamoDB would bill, metered around a real client (moto): write units with every index write,
and read units per call. Used by `make bench` and by the tests that count costs.

The rules, from DynamoDB's documentation
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.ThroughputConsiderations.html):
- a put or update costs 1 WRU per started KB of the larger of the old and the new item; a write
  whose condition fails costs as much for the item as it is;
- for each global secondary index: an item that enters it is one index write (a put), one that
  leaves it is one (a delete), one whose index key changes is two (delete and put), and one whose
  projected attributes change is one; each 1 WRU per started KB of the index entry (the table's
  keys, the index's keys and the projected attributes);
- a read costs 1 RRU per started 4 KB (half for an eventually consistent one), summed over the
  items of a Query (GSI queries are eventually consistent), per item for GetItem and BatchGetItem,
  and at least one unit for a key that is not there.
Item sizes use the functions' own `item_size` (DynamoDB's size rules), so both sides agree.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from devkit.template import LocalTemplate
from jobstatus.dynamodb import Item, item_size


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # the index's key attributes
    projection: str  # KEYS_ONLY, INCLUDE or ALL
    attributes: tuple[str, ...] = ()  # INCLUDE's NonKeyAttributes


def indexes(template: LocalTemplate, table: str) -> list[Index]:
    """The global secondary indexes of a table, as template.yaml declares them."""
    found = []
    for index in template.tables()[table].get("GlobalSecondaryIndexes", []):
        projection = index["Projection"]
        found.append(
            Index(
                name=index["IndexName"],
                keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
                projection=projection["ProjectionType"],
                attributes=tuple(projection.get("NonKeyAttributes", [])),
            )
        )
    return found


# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling
TRANSACTIONAL = 2  # write request units of an item written in a transaction, per plain one


def _kb(size: int, unit: int) -> int:
    return max(1, -(-size // unit))


def write_units(item: Item) -> int:
    """On-demand write request units for one put of this item (1 per started KB)."""
    return _kb(item_size(item), 1024)


def entry(item: Item | None, index: Index, table_keys: tuple[str, ...]) -> Item | None:
    """The item's entry in the index, or None when it is not in it (sparse)."""
    if item is None or not all(k in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    names = set(table_keys) | set(index.keys) | set(index.attributes)
    return {k: v for k, v in item.items() if k in names}


def write_cost(
    old: Item | None, new: Item | None, table_indexes: list[Index], table_keys: tuple[str, ...]
) -> Counter[str]:
    """WRU of one item write: under "table", and under each index's name."""
    cost: Counter[str] = Counter()
    sizes = [item_size(i) for i in (old, new) if i is not None]
    cost["table"] = _kb(max(sizes), 1024) if sizes else 1
    for index in table_indexes:
        before, after = entry(old, index, table_keys), entry(new, index, table_keys)
        if before == after:
            continue
        if before is not None and after is not None and any(before[k] != after[k] for k in index.keys):
            cost[index.name] += _kb(item_size(before), 1024) + _kb(item_size(after), 1024)
        elif after is not None:
            cost[index.name] += _kb(item_size(after), 1024)
        elif before is not None:
            cost[index.name] += _kb(item_size(before), 1024)
    return cost


@dataclass
class Meter:
    """A DynamoDB client that counts what each call would be billed. Writes read the old and new items
    through the same client (moto bills nothing), so they must not run concurrently on the same keys."""

    client: Any
    template: LocalTemplate
    writes: Counter[str] = field(default_factory=Counter)  # WRU: "table" and per index, all tables
    reads: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # RRU per operation
    calls: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # the report path writes on several threads at once
        self._schema = {
            name: (
                tuple(k["AttributeName"] for k in props["KeySchema"]),
                indexes(self.template, name),
            )
            for name, props in self.template.tables().items()
        }

    def reset(self) -> None:
        self.writes.clear()
        self.reads.clear()
        self.calls.clear()

    def _get(self, table: str, key: Item) -> Item | None:
        found = self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dict(found) if found else None

    def _key(self, table: str, item: Item) -> Item:
        return {k: item[k] for k in self._schema[table][0]}

    def _written(self, table: str, key: Item, old: Item | None, *, transactional: bool = False) -> None:
        keys, table_indexes = self._schema[table]
        cost = write_cost(old, self._get(table, key), table_indexes, keys)
        if transactional:  # a transaction's writes cost twice a plain write's, its index writes as usual
            cost["table"] *= TRANSACTIONAL
        with self._lock:
            self.writes.update(cost)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.client, name)

        def call(**request: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            if name in ("update_item", "put_item", "delete_item"):
                table = request["TableName"]
                key = request["Key"] if "Key" in request else self._key(table, request["Item"])
                old = self._get(table, key)
                try:
                    response = real(**request)
                except ClientError as error:
                    if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                        with self._lock:
                            self.writes["table"] += _kb(item_size(old), 1024) if old else 1
                    raise
                self._written(table, key, old)
                return response
            if name == "transact_write_items":
                writes = [(kind, w) for item in request["TransactItems"] for kind, w in item.items()]
                if any(kind == "ConditionCheck" for kind, _ in writes):
                    raise NotImplementedError("the meter prices a transaction's writes, not a ConditionCheck")
                keys = [w.get("Key") or self._key(w["TableName"], w["Item"]) for _, w in writes]
                before = [self._get(w["TableName"], key) for (_, w), key in zip(writes, keys, strict=True)]
                try:
                    response = real(**request)
                except ClientError as error:
                    if error.response["Error"]["Code"] == "TransactionCanceledException":
                        with self._lock:  # each write's condition read, at the transactional rate
                            self.writes["table"] += sum(
                                TRANSACTIONAL * (_kb(item_size(old), 1024) if old else 1) for old in before
                            )
                    raise
                for (_, w), key, old in zip(writes, keys, before, strict=True):
                    self._written(w["TableName"], key, old, transactional=True)
                return response
            if name == "batch_write_item":
                olds = {
                    (table, repr(key)): self._get(table, key)
                    for table, requests in request["RequestItems"].items()
                    for key in (self._key(table, r["PutRequest"]["Item"]) for r in requests)
                }
                response = real(**request)
                unprocessed = response.get("UnprocessedItems") or {}
                for table, requests in request["RequestItems"].items():
                    for r in requests:
                        if r in unprocessed.get(table, []):
                            continue
                        key = self._key(table, r["PutRequest"]["Item"])
                        self._written(table, key, olds[(table, repr(key))])
                return response
            response = real(**request)
            with self._lock:
                self._read(name, request, response)
            return response

        return call

    def _read(self, name: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        factor = 1.0 if request.get("ConsistentRead") else 0.5
        if name == "query":
            size = sum(item_size(i) for i in response.get("Items", []))
            self.reads["query"] += _kb(size, 4096) * (0.5 if "IndexName" in request else factor)
        elif name == "get_item":
            item = response.get("Item")
            self.reads["get_item"] += _kb(item_size(item) if item else 0, 4096) * factor
        elif name == "batch_get_item":
            for table, asked in request["RequestItems"].items():
                each = 1.0 if asked.get("ConsistentRead") else 0.5
                got = response.get("Responses", {}).get(table, [])
                self.reads["batch_get_item"] += sum(_kb(item_size(i), 4096) * each for i in got)
                self.reads["batch_get_item"] += (len(asked["Keys"]) - len(got)) * each
