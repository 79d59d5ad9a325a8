"""The report's writes to DynamoDB: item layout and sizes, and the two write phases.

The keys come from `jobstatus.model`; this module builds the items around them. With
`confirm.py` (IoT Core), the function's only user of the AWS SDK.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from jobstatus import model
from jobstatus.dynamodb import (
    BATCH_WRITE_SIZE,
    MAX_ITEM_BYTES,
    ConditionFailed,
    Item,
    Table,
    chunked,
    in_parallel,
    item_size,
    serialize,
)
from jobstatus.errors import PayloadConflict, PayloadTooLarge

# Phase-2 writes run concurrently on this many threads (a 25-job report's 26 calls in one
# wave); botocore's connection pool is as large.
WRITERS = 32
# The current item carries the exceptions of its status when they are at most this large stored;
# larger ones stay only in the history item, which the current item then points at. A heartbeat
# rewrites the current item, so this bounds what one costs, and keeps the item far below 400 KB
# and its change event far below EventBridge's 256 KB entry limit.
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
INLINE_EXCEPTIONS_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class CurrentUpdate:
    """The newest status of one job in a report, for its current item."""

    project_id: str
    job_id: int
    status: str
    create_time: int
    rank: str
    message_id: str
    exceptions: dict[str, Any] | None  # its AttributeValue, when small enough to keep inline
    exceptions_ref: str | None  # else the sort key of the history item that holds them

    @property
    def pk(self) -> str:
        return model.job_pk(self.project_id, self.job_id)


@dataclass(slots=True)
class Writes:
    """Everything one report writes, built and size-checked before anything is sent."""

    payload_hash: str
    project_id: str
    message_id: str
    ledger_extra: Item = field(default_factory=dict)
    history: list[Item] = field(default_factory=list)
    current: list[CurrentUpdate] = field(default_factory=list)

    @property
    def ledger_key(self) -> str:
        return model.ledger_pk(self.project_id, self.message_id)


@dataclass(frozen=True, slots=True)
class JobEntry:
    """One job of a report, in the form the use case hands to storage."""

    index: int
    document: dict[str, Any]  # the job as sent: known fields that are present, extras
    extra_names: frozenset[str]
    digest: str  # hash of the job's canonical form
    newest: bool  # the newest status of its job_id in this report
    rank: str


class JobStatusStore:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        ledger_table: str,
        history_ttl_s: int,
        ledger_ttl_s: int,
        silent_after_minutes: int,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs = Table(client, job_table, sleep=sleep)
        self._ledger = Table(client, ledger_table, sleep=sleep)
        self._silent_after_minutes = silent_after_minutes
        self._history_ttl_s = history_ttl_s
        self._ledger_ttl_s = ledger_ttl_s
        self._pool = pool or ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ddb")

    # --- building (no I/O) ---------------------------------------------------------------

    def prepare(
        self,
        project_id: str,
        message_id: str,
        payload_hash: str,
        jobs: Iterable[JobEntry],
        *,
        report_extra: dict[str, Any],
    ) -> Writes:
        writes = Writes(payload_hash=payload_hash, project_id=project_id, message_id=message_id)
        if report_extra:
            writes.ledger_extra = {"extra": serialize(report_extra)}
        seen: set[tuple[str, str]] = set()
        for job in jobs:
            doc = job.document
            status, create_time, job_id = doc["status"], doc["create_time"], doc.get("job_id")
            if job_id is None:
                pk, suffix = model.message_pk(project_id, message_id), str(job.index)
            else:
                pk, suffix = model.job_pk(project_id, job_id), job.digest
            sk = model.history_sk(create_time, status, suffix)
            if (pk, sk) in seen:  # the same job twice in one report: one item (and BatchWriteItem
                continue  # refuses duplicate keys in a request)
            seen.add((pk, sk))
            item: Item = {"pk": {"S": pk}, "sk": {"S": sk}, "message_id": {"S": message_id}}
            extra = {}
            for name, value in doc.items():
                if name in job.extra_names:
                    extra[name] = value
                else:
                    item[name] = serialize(value)
            if extra:
                item["extra"] = serialize(extra)
            # received_at and expires_at are added after phase 1; count them now (13 and 10 digits).
            size = item_size(item) + len("received_at") + 8 + len("expires_at") + 7
            if size > MAX_ITEM_BYTES:
                biggest = max(doc, key=lambda n: item_size({n: serialize(doc[n])}))
                raise PayloadTooLarge(
                    f"jobs[{job.index}].{biggest}: the job is {size} bytes stored, over DynamoDB's "
                    f"{MAX_ITEM_BYTES}-byte item limit"
                )
            writes.history.append(item)
            if job_id is not None and job.newest:
                exceptions = item.get("exceptions")
                inline = exceptions is not None and item_size({"exceptions": exceptions}) <= INLINE_EXCEPTIONS_BYTES
                writes.current.append(
                    CurrentUpdate(
                        project_id=project_id,
                        job_id=job_id,
                        status=status,
                        create_time=create_time,
                        rank=job.rank,
                        message_id=message_id,
                        exceptions=exceptions if inline else None,
                        exceptions_ref=sk if exceptions is not None and not inline else None,
                    )
                )
        return writes

    # --- phase 1: the ledger -------------------------------------------------------------

    def claim(self, writes: Writes, *, job_count: int, topic: str | None, now_ms: int) -> int | None:
        """Record the message_id. Returns None for a new report, or the first received_at of a replay.

        One conditional write: it succeeds for a new message_id or the same payload, and fails,
        writing nothing, for the same message_id with another payload.
        """
        values: Item = {
            ":h": {"S": writes.payload_hash},
            ":now": {"N": str(now_ms)},
            ":exp": {"N": str(now_ms // 1000 + self._ledger_ttl_s)},
            ":n": {"N": str(job_count)},
            ":p": {"S": writes.project_id},
            ":m": {"S": writes.message_id},
        }
        sets = [
            "payload_hash = :h",
            "project_id = :p",
            "message_id = :m",
            "received_at = if_not_exists(received_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
            "job_count = :n",
        ]
        if topic is not None:
            values[":t"] = {"S": topic}
            sets.append("msg_confirm_topic = :t")
        if writes.ledger_extra:
            values[":x"] = writes.ledger_extra["extra"]
            sets.append("extra = :x")
        response = self._ledger.write(
            "update_item",
            Key={"pk": {"S": writes.ledger_key}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_not_exists(pk) OR payload_hash = :h",
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        if isinstance(response, ConditionFailed):
            raise PayloadConflict("message_id: already used in this project with a different payload")
        old = response.get("Attributes")
        return int(old["received_at"]["N"]) if old and "received_at" in old else None

    # --- phase 2: history and current status, concurrently ---------------------------------

    def apply(self, writes: Writes, *, received_at_ms: int) -> None:
        """Write every history item and current status; raise DependencyUnavailable unless all landed.

        Every write here is idempotent (history keys come from content, current updates are
        conditional on create_time), so a retry of the whole report is always safe.
        """
        stamp = {
            "received_at": {"N": str(received_at_ms)},
            "expires_at": {"N": str(received_at_ms // 1000 + self._history_ttl_s)},
        }
        tasks: list[Callable[[], None]] = [
            partial(self._jobs.write_batch, [item | stamp for item in batch])
            for batch in chunked(writes.history, BATCH_WRITE_SIZE)
        ]
        tasks += [partial(self._update_current, update, received_at_ms) for update in writes.current]
        in_parallel(self._pool, tasks)

    def _update_current(self, update: CurrentUpdate, received_at_ms: int) -> None:
        """Move the current status, if this one is newer, with everything the read side and the events need.

        One conditional UpdateItem, as before: the index keys it sets change only when the category
        changes or reported_at crosses into a new silence bucket, so a heartbeat writes no index.
        """
        category = model.category_of(update.status)
        bucket = model.bucket_start(received_at_ms, self._silent_after_minutes)
        values: Item = {
            ":st": {"S": update.status},
            ":ct": {"N": str(update.create_time)},
            ":rk": {"S": update.rank},
            ":jid": {"N": str(update.job_id)},
            ":mid": {"S": update.message_id},
            ":at": {"N": str(received_at_ms)},
            ":cat": {"S": category},
            ":g1pk": {"S": model.silence_index_pk(update.project_id, update.job_id)},
            ":g1sk": {"S": model.silence_index_sk(bucket)},
            ":g2pk": {"S": model.category_index_pk(update.project_id, model.category_shard(update.job_id))},
            ":g2sk": {"S": model.category_index_sk(category, bucket, update.job_id)},
        }
        # Every attribute goes through a name placeholder: DynamoDB's reserved words (status among
        # them) are many, and implementations disagree on the list.
        sets = {
            "status": ":st",
            "create_time": ":ct",
            "status_rank": ":rk",
            "job_id": ":jid",
            "message_id": ":mid",
            "reported_at": ":at",
            "category": ":cat",
            "gsi1pk": ":g1pk",
            "gsi1sk": ":g1sk",
            "gsi2pk": ":g2pk",
            "gsi2sk": ":g2sk",
        }
        # A report that moves the status ends any silence; updated_at is this attribute's old name.
        removes = ["silent_since", "updated_at"]
        if update.exceptions is not None:
            values[":exc"] = update.exceptions
            sets["exceptions"] = ":exc"
            removes.append("exceptions_ref")
        elif update.exceptions_ref is not None:
            values[":xref"] = {"S": update.exceptions_ref}
            sets["exceptions_ref"] = ":xref"
            removes.append("exceptions")
        else:
            removes += ["exceptions", "exceptions_ref"]
        names = {f"#{name}": name for name in [*sets, *removes, "pk"]}
        expression = "SET " + ", ".join(f"#{name} = {value}" for name, value in sets.items())
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
        # Only a newer (create_time, rank) moves the current status, so arrival order never matters;
        # an equal one is the same status and needs no write (a failed condition writes nothing).
        self._jobs.write(
            "update_item",
            Key={"pk": {"S": update.pk}, "sk": {"S": model.CURRENT_SK}},
            UpdateExpression=expression,
            ConditionExpression=(
                "attribute_not_exists(#pk) OR #create_time < :ct OR (#create_time = :ct AND #status_rank < :rk)"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
