"""The sweep's DynamoDB access: the silence index's old buckets, the candidates' current items, and the marks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from jobstatus import dynamodb, model
from jobstatus.dynamodb import BATCH_GET_SIZE, Item, batch_get, call, deserialize, error_code, fault, in_parallel

WORKERS = 16
T = TypeVar("T")
Record = dict[str, Any]


def dynamodb_client(read_timeout_s: float = dynamodb.DEFAULT_READ_TIMEOUT_S) -> Any:
    return dynamodb.dynamodb_client(max_pool_connections=WORKERS, read_timeout_s=read_timeout_s)


class SweepStore:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = job_table
        self._pool = pool or ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sweep")
        self._sleep = sleep

    def _call(self, operation: str, **request: Any) -> Any:
        return call(self._client, operation, **request)

    def parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        return in_parallel(self._pool, tasks)

    def candidates(self, last_bucket: int) -> list[str]:
        """The pk of every current item filed in a silence bucket that starts at or before `last_bucket`."""
        pages = self.parallel([partial(self._partition, pk, last_bucket) for pk in model.silence_index_pks()])
        return [pk for page in pages for pk in page]

    def _partition(self, partition: str, last_bucket: int) -> list[str]:
        found, start = [], None
        while True:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": model.SILENCE_INDEX,
                "KeyConditionExpression": "#ipk = :p AND #isk <= :last",
                "ExpressionAttributeNames": {"#ipk": "gsi1pk", "#isk": "gsi1sk"},
                "ExpressionAttributeValues": {
                    ":p": {"S": partition},
                    ":last": {"S": model.silence_index_sk(last_bucket)},
                },
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            response = self._call("query", **request)
            found += [item["pk"]["S"] for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if start is None:
                return found

    def currents(self, pks: list[str]) -> tuple[list[Record], int]:
        """The current items of these pks, and how many could not be read (DynamoDB left them
        unprocessed after bounded retries): those stay in the index for the next run."""
        chunks = [pks[i : i + BATCH_GET_SIZE] for i in range(0, len(pks), BATCH_GET_SIZE)]
        records: list[Record] = []
        unread = 0
        for found, unprocessed in self.parallel([partial(self._batch, chunk) for chunk in chunks]):
            records += [{k: deserialize(v) for k, v in item.items()} for item in found]
            unread += len(unprocessed)
        return records, unread

    def _batch(self, pks: list[str]) -> tuple[list[Item], list[Item]]:
        keys = [{"pk": {"S": pk}, "sk": {"S": model.CURRENT_SK}} for pk in pks]
        return batch_get(self._call, self._table, keys, sleep=self._sleep)

    def mark_silent(self, record: Record, silent_since: int) -> bool:
        """Mark the job silent and take it out of the silence index, unless a report moved it meanwhile."""
        return self._update(record, "SET #since = :since REMOVE #g1pk, #g1sk", {":since": {"N": str(silent_since)}})

    def unfile(self, record: Record) -> bool:
        """Take a job that cannot go silent (not active) out of the silence index; its next report files it again."""
        return self._update(record, "REMOVE #g1pk, #g1sk", {})

    def _update(self, record: Record, expression: str, values: Item) -> bool:
        names = {"#g1pk": "gsi1pk", "#g1sk": "gsi1sk", "#at": "reported_at", "#st": "status"}
        if ":since" in values:
            names["#since"] = "silent_since"
        try:
            self._call_raw(
                "update_item",
                TableName=self._table,
                Key={"pk": {"S": record["pk"]}, "sk": {"S": model.CURRENT_SK}},
                UpdateExpression=expression,
                # Only as the sweep saw it: a report since then (a newer reported_at) is left alone.
                ConditionExpression="#at = :at AND #st = :st",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values
                | {":at": {"N": str(record["reported_at"])}, ":st": {"S": record["status"]}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise fault(exc) from exc
        except BotoCoreError as exc:
            raise fault(exc) from exc
        return True

    def _call_raw(self, operation: str, **request: Any) -> Any:
        return getattr(self._client, operation)(**request)
