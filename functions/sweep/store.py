"""The sweep's DynamoDB access: the silence index's old buckets, the candidates' current items, and the marks."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from jobstatus import layout
from jobstatus.dynamodb import ConditionFailed, Item, Table, in_parallel, values

WORKERS = 16
Record = dict[str, Any]


class SweepStore:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs = Table(client, job_table, sleep=sleep)
        self._pool = pool or ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sweep")

    def candidates(self, last_bucket: int) -> list[str]:
        """The pk of every current item filed in a silence bucket that starts at or before `last_bucket`."""
        tasks = [partial(self._partition, pk, last_bucket) for pk in layout.silence_index_pks()]
        return [pk for page in in_parallel(self._pool, tasks) for pk in page]

    def _partition(self, partition: str, last_bucket: int) -> list[str]:
        items = self._jobs.query_all(
            IndexName=layout.SILENCE_INDEX,
            KeyConditionExpression="#ipk = :p AND #isk <= :last",
            ExpressionAttributeNames={"#ipk": "gsi1pk", "#isk": "gsi1sk"},
            ExpressionAttributeValues={":p": {"S": partition}, ":last": {"S": layout.silence_index_sk(last_bucket)}},
        )
        return [item["pk"]["S"] for item in items]

    def currents(self, pks: list[str]) -> tuple[list[Record], int]:
        """The current items of these pks, and how many could not be read (DynamoDB left them
        unprocessed after bounded retries): those stay in the index for the next run."""
        items, unprocessed = self._jobs.read_many([layout.current_key(pk) for pk in pks], self._pool)
        return [values(item) for item in items], len(unprocessed)

    def mark_silent(self, record: Record, silent_since: int) -> bool:
        """Mark the job silent and take it out of the silence index, unless a report moved it meanwhile."""
        return self._update(record, "SET #since = :since REMOVE #g1pk, #g1sk", {":since": {"N": str(silent_since)}})

    def unfile(self, record: Record) -> bool:
        """Take a job that cannot go silent (not active) out of the silence index; its next report files it again."""
        return self._update(record, "REMOVE #g1pk, #g1sk", {})

    def _update(self, record: Record, expression: str, values_: Item) -> bool:
        names = {"#g1pk": "gsi1pk", "#g1sk": "gsi1sk", "#at": "reported_at", "#st": "status"}
        if ":since" in values_:
            names["#since"] = "silent_since"
        answer = self._jobs.write(
            "update_item",
            Key=layout.current_key(record["pk"]),
            UpdateExpression=expression,
            # Only as the sweep saw it: a report since then (a newer reported_at) is left alone.
            ConditionExpression="#at = :at AND #st = :st",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values_
            | {":at": {"N": str(record["reported_at"])}, ":st": {"S": record["status"]}},
        )
        return not isinstance(answer, ConditionFailed)
