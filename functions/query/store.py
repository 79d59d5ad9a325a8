"""The read function's DynamoDB access: reads only (GetItem, Query, BatchGetItem), answers as plain values.

Calls that do not depend on each other go out at once on a small thread pool (one botocore
client, thread-safe, with a connection pool as large), so that a page of a category is one
round trip of index queries, one of item reads, whatever the number of shards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from jobstatus import layout
from jobstatus.dynamodb import Item, Table, in_parallel, values

READERS = 16  # parallel calls: one per shard of a category
T = TypeVar("T")
Record = dict[str, Any]  # an item as plain values


@dataclass(frozen=True, slots=True)
class IndexRead:
    """One page of one partition of an index: `partition` = the index's hash key value."""

    index: str
    partition: str
    limit: int
    start: Item | None = None  # ExclusiveStartKey
    sort_range: tuple[str, str] | None = None  # index sort key BETWEEN these (inclusive), or all
    statuses: frozenset[str] | None = None  # keep only these statuses (projected into the index)


@dataclass(frozen=True, slots=True)
class IndexPage:
    keys: list[Item]  # the index entries read: the table's and the index's key attributes
    last: Item | None  # where the partition goes on, None when it is done


class JobReads:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        ledger_table: str,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs = Table(client, job_table, sleep=sleep)
        self._ledger = Table(client, ledger_table, sleep=sleep)
        self._pool = pool or ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="ddb-read")

    def _parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        return in_parallel(self._pool, tasks)

    # --- items ------------------------------------------------------------------------------

    def current(self, project_id: str, job_id: int) -> Record | None:
        item = self._jobs.get(layout.current_key(layout.job_pk(project_id, job_id)))
        return values(item) if item else None

    def currents(self, pks: Iterable[str]) -> dict[str, Record]:
        """The current items of these pks (absent ones left out), all at once."""
        items = self._jobs.read_all([layout.current_key(pk) for pk in dict.fromkeys(pks)], self._pool)
        return {item["pk"]["S"]: values(item) for item in items}

    def items(self, keys: Sequence[tuple[str, str]], attributes: Sequence[str]) -> list[Record | None]:
        """These attributes of these (pk, sk) items, or None for an absent one, all at once."""
        return self._parallel([partial(self._item, pk, sk, attributes) for pk, sk in keys])

    def _item(self, pk: str, sk: str, attributes: Sequence[str]) -> Record | None:
        item = self._jobs.get({"pk": {"S": pk}, "sk": {"S": sk}}, attributes)
        return values(item) if item else None

    def summaries(self, project_id: str) -> list[Record]:
        """A project's summary items (jobstatus.fleet), one BatchGetItem, eventually consistent: the
        counters trail the stream by seconds anyway, and the read costs half."""
        items = self._jobs.read_all(layout.summary_keys(project_id), self._pool, consistent=False)
        return [values(item) for item in items]

    def ledger(self, project_id: str, message_id: str) -> Record | None:
        item = self._ledger.get({"pk": {"S": layout.ledger_pk(project_id, message_id)}})
        return values(item) if item else None

    # --- queries ----------------------------------------------------------------------------

    def index_pages(self, reads: Sequence[IndexRead]) -> list[IndexPage]:
        """One page of each partition, all at once."""
        return self._parallel([partial(self._index_page, read) for read in reads])

    def _index_page(self, read: IndexRead) -> IndexPage:
        names = {"#ipk": f"{read.index}pk"}
        condition = "#ipk = :p"
        values: Item = {":p": {"S": read.partition}}
        if read.sort_range is not None:
            condition += " AND #isk BETWEEN :low AND :high"
            names["#isk"] = f"{read.index}sk"
            values[":low"], values[":high"] = {"S": read.sort_range[0]}, {"S": read.sort_range[1]}
        request: dict[str, Any] = {
            "IndexName": read.index,
            "KeyConditionExpression": condition,
            "Limit": read.limit,
        }
        if read.statuses is not None:
            statuses = sorted(read.statuses)
            request["FilterExpression"] = "#st IN (" + ", ".join(f":s{i}" for i in range(len(statuses))) + ")"
            names["#st"] = "status"
            values |= {f":s{i}": {"S": status} for i, status in enumerate(statuses)}
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values
        if read.start is not None:
            request["ExclusiveStartKey"] = read.start
        keys, last = self._jobs.query(**request)
        return IndexPage(keys=keys, last=last)

    def history(
        self, project_id: str, job_id: int, *, since: int, until: int, limit: int, start_sk: str | None
    ) -> tuple[list[Record], str | None]:
        """History items of a job, newest create_time first, and the sort key to go on from (or None)."""
        pk = layout.job_pk(project_id, job_id)
        request: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :from AND :to",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":from": {"S": layout.history_sk_bound(since)},
                ":to": {"S": layout.history_sk_bound(until, last=True)},
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        if start_sk is not None:
            request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": start_sk}}
        items, last = self._jobs.query(**request)
        return [values(item) for item in items], (last["sk"]["S"] if last else None)
