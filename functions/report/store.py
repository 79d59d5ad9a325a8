"""The report's writes to DynamoDB: item layout and sizes, and the two write phases.

The keys come from `jobstatus.layout`; this module builds the items around them. With
`confirm.py` (IoT Core), the function's only user of the AWS SDK.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from jobstatus import layout, lifecycle
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
    values,
)
from jobstatus.errors import DependencyUnavailable, PayloadConflict, PayloadTooLarge
from report.runs import Current, Plan, Status, plan, run_of

# Phase-2 writes run concurrently on this many threads (a 25-job report's 26 calls in one
# wave); botocore's connection pool is as large.
WRITERS = 32
# The current item carries the exceptions of its status when they are at most this large stored;
# larger ones stay only in the history item, which the current item then points at. A heartbeat
# rewrites the current item, so this bounds what one costs, and keeps the item far below 400 KB
# and its change event far below EventBridge's 256 KB entry limit.
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
INLINE_EXCEPTIONS_BYTES = 32 * 1024
LEDGER_ATTRIBUTES_BYTES = 2048  # a ledger item's attributes besides `extra`, at most


@dataclass(frozen=True, slots=True)
class JobEntry:
    """One job of a report, in the form the use case hands to storage."""

    index: int
    document: dict[str, Any]  # the job as sent: known fields that are present, extras
    extra_names: frozenset[str]
    digest: str  # hash of the job's canonical form: its history item's key
    run: str  # hash of its content, without create_time and job_id: a heartbeat repeats it
    rank: str


@dataclass(slots=True)
class JobStatuses:
    """One job's statuses in a report, in (create_time, rank, run) order, with their history items."""

    pk: str
    job_id: int
    statuses: list[Status] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)  # each status's history item
    fields: list[dict[str, Any]] = field(default_factory=list)  # what the current item takes of each


@dataclass(slots=True)
class Writes:
    """Everything one report writes, built and size-checked before anything is sent."""

    payload_hash: str
    project_id: str
    message_id: str
    ledger_extra: Item = field(default_factory=dict)
    loose: list[Item] = field(default_factory=list)  # statuses without a job_id: always kept
    jobs: list[JobStatuses] = field(default_factory=list)

    @property
    def ledger_key(self) -> str:
        return layout.ledger_pk(self.project_id, self.message_id)


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
        keep_heartbeats: bool = False,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs = Table(client, job_table, sleep=sleep)
        self._ledger = Table(client, ledger_table, sleep=sleep)
        self._silent_after_minutes = silent_after_minutes
        self._keep_heartbeats = keep_heartbeats
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
            # The ledger item's other attributes take under 2 KB (message_id and topic at their limits).
            if item_size(writes.ledger_extra) + LEDGER_ATTRIBUTES_BYTES > MAX_ITEM_BYTES:
                biggest = max(report_extra, key=lambda n: item_size({n: serialize(report_extra[n])}))
                raise PayloadTooLarge(
                    f"{biggest}: the report's fields beyond the contract's are {item_size(writes.ledger_extra)} "
                    f"bytes stored, over what DynamoDB's {MAX_ITEM_BYTES}-byte item limit leaves them"
                )
        by_job: dict[int, list[tuple[Status, Item, dict[str, Any]]]] = {}
        seen: set[tuple[str, str]] = set()
        for job in jobs:
            doc = job.document
            status, create_time, job_id = doc["status"], doc["create_time"], doc.get("job_id")
            if job_id is None:
                pk, suffix = layout.message_pk(project_id, message_id), str(job.index)
            else:
                pk, suffix = layout.job_pk(project_id, job_id), job.digest
            sk = layout.history_sk(create_time, status, suffix)
            if (pk, sk) in seen:  # the same job twice in one report: one item (and BatchWriteItem
                continue  # refuses duplicate keys in a request)
            seen.add((pk, sk))
            item = self._history_item(job, pk, sk, message_id)
            if job_id is None:
                writes.loose.append(item)
                continue
            exceptions = item.get("exceptions")
            inline = exceptions is not None and item_size({"exceptions": exceptions}) <= INLINE_EXCEPTIONS_BYTES
            fields = {
                "status": status,
                "exceptions": exceptions if inline else None,  # its AttributeValue, when small enough
                "exceptions_ref": sk if exceptions is not None and not inline else None,  # else where it is
            }
            by_job.setdefault(job_id, []).append((Status(create_time, job.rank, job.run), item, fields))
        for job_id, entries in by_job.items():
            entries.sort(key=lambda entry: (entry[0].order, entry[0].run))
            statuses = JobStatuses(layout.job_pk(project_id, job_id), job_id)
            for status_, item, fields in entries:
                statuses.statuses.append(status_)
                statuses.items.append(item)
                statuses.fields.append(fields)
            writes.jobs.append(statuses)
        return writes

    @staticmethod
    def _history_item(job: JobEntry, pk: str, sk: str, message_id: str) -> Item:
        """The job as sent, its extra fields under `extra`; refused if it would not fit one item."""
        doc = job.document
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
        return item

    # --- phase 1: the ledger, and the jobs' current statuses, at once ------------------------

    def begin(
        self, writes: Writes, *, job_count: int, topic: str | None, now_ms: int
    ) -> tuple[int | None, dict[str, Current | None]]:
        """Claim the message_id and read each job's current status: (the first received_at of a replay,
        or None for a new report; each job's current status, None for a job's first report). Reading
        writes nothing, so a conflict (422) still writes nothing."""
        claim: Callable[[], Any] = partial(self._claim, writes, job_count=job_count, topic=topic, now_ms=now_ms)
        read: Callable[[], Any] = partial(self._currents, [job.pk for job in writes.jobs])
        first_seen, currents = in_parallel(self._pool, [claim, read])
        return cast(int | None, first_seen), cast(dict[str, Current | None], currents)

    def _claim(self, writes: Writes, *, job_count: int, topic: str | None, now_ms: int) -> int | None:
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

    def _currents(self, pks: list[str]) -> dict[str, Current | None]:
        if not pks:
            return {}
        items = self._jobs.read_all([layout.current_key(pk) for pk in pks], self._pool, CURRENT_FIELDS)
        found = {item["pk"]["S"]: _current(item) for item in items}
        return {pk: found.get(pk) for pk in pks}

    # --- phase 2 (and 3 when it must): history and current statuses, at once -------------------

    def apply(self, writes: Writes, currents: dict[str, Current | None], *, received_at_ms: int, replayed: bool) -> int:
        """Write what each job's statuses change (report.runs), and every status without a job_id; the
        history items written. DependencyUnavailable unless all landed.

        Every write here is idempotent (history keys come from content, current updates are conditional
        on the current status as it was read), so a retry of the whole report is always safe. A current
        status that moved between the read and the update (another report of the job at the same
        moment) is read back from the failed condition and the job planned again, a bounded number of
        rounds; a replay's older statuses are checked against the history first.
        """
        stamp = {
            "received_at": {"N": str(received_at_ms)},
            "expires_at": {"N": str(received_at_ms // 1000 + self._history_ttl_s)},
        }
        keep = [item | stamp for item in writes.loose]
        written: set[tuple[str, str]] = set()
        pending = {job.pk: (job, currents.get(job.pk)) for job in writes.jobs}
        for _ in range(PLAN_ROUNDS):
            updates, checks = [], []
            for job, current in pending.values():
                decided = plan(job.statuses, current, keep_heartbeats=self._keep_heartbeats, replay=replayed)
                keep += [job.items[i] | stamp for i in decided.keep if _key(job.items[i]) not in written]
                checks += [(job, i) for i in decided.check if _key(job.items[i]) not in written]
                if decided.update != "none":
                    updates.append(partial(self._update, job, current, decided, received_at_ms))
            batches = [partial(self._jobs.write_batch, batch) for batch in chunked(keep, BATCH_WRITE_SIZE)]
            checked = [partial(self._recorded, job, i) for job, i in checks]
            tasks: list[Callable[[], Any]] = [*batches, *updates, *checked]
            results = in_parallel(self._pool, tasks)
            written |= {_key(item) for item in keep}
            moved, recorded = (
                results[len(batches) : len(batches) + len(updates)],
                results[len(batches) + len(updates) :],
            )
            keep = [job.items[i] | stamp for (job, i), found in zip(checks, recorded, strict=True) if not found]
            pending = {answer[0].pk: answer for answer in moved if answer is not None}
            if not pending and not keep:
                return len(written)
        raise DependencyUnavailable("a job's current status kept moving while the report was applied")

    def _update(
        self, job: JobStatuses, current: Current | None, decided: Plan, received_at_ms: int
    ) -> tuple[JobStatuses, Current | None] | None:
        """Move the current item to the job's newest status, as the plan says; None when done, or the job
        with the current status it found instead (it moved since it was read)."""
        newest, fields = job.statuses[-1], job.fields[-1]
        category = lifecycle.category_of(fields["status"])
        bucket = lifecycle.bucket_start(received_at_ms, self._silent_after_minutes)
        project_id, _ = layout.parse_job_pk(job.pk)
        values: Item = {
            ":ct": {"N": str(newest.create_time)},
            ":mid": {"S": job.items[-1]["message_id"]["S"]},
            ":at": {"N": str(received_at_ms)},
            ":g1pk": {"S": layout.silence_index_pk(project_id, job.job_id)},
            ":g1sk": {"S": layout.silence_index_sk(bucket)},
            ":g2pk": {"S": layout.category_index_pk(project_id, layout.category_shard(job.job_id))},
            ":g2sk": {"S": layout.category_index_sk(category, bucket, job.job_id)},
        }
        # Every attribute goes through a name placeholder: DynamoDB's reserved words (status among
        # them) are many, and implementations disagree on the list.
        sets = {
            "create_time": ":ct",
            "message_id": ":mid",
            "reported_at": ":at",
            "gsi1pk": ":g1pk",
            "gsi1sk": ":g1sk",
            "gsi2pk": ":g2pk",
            "gsi2sk": ":g2sk",
        }
        removes = ["silent_since"]  # a report that moves the status ends any silence
        if decided.update == "change":  # what the status says, and when its run began
            values |= {
                ":st": {"S": fields["status"]},
                ":rk": {"S": newest.rank},
                ":jid": {"N": str(job.job_id)},
                ":cat": {"S": category},
                ":run": {"S": newest.run},
                ":since": {"N": str(decided.since)},
            }
            sets |= {"status": ":st", "status_rank": ":rk", "job_id": ":jid", "category": ":cat"}
            sets |= {"run": ":run", "status_since": ":since"}
            if fields["exceptions"] is not None:
                values[":exc"] = fields["exceptions"]
                sets["exceptions"] = ":exc"
                removes.append("exceptions_ref")
            elif fields["exceptions_ref"] is not None:
                values[":xref"] = {"S": fields["exceptions_ref"]}
                sets["exceptions_ref"] = ":xref"
                removes.append("exceptions")
            else:
                removes += ["exceptions", "exceptions_ref"]
        # Only as it was read: the plan was made against it.
        if current is None:
            condition, compared = "attribute_not_exists(#pk)", ["pk"]
        else:
            condition, compared = "#create_time = :rct AND #status_rank = :rrk", ["create_time", "status_rank"]
            values |= {":rct": {"N": str(current.create_time)}, ":rrk": {"S": current.rank}}
        names = {f"#{name}": name for name in [*sets, *removes, *compared]}
        answer = self._jobs.write(
            "update_item",
            Key=layout.current_key(job.pk),
            UpdateExpression="SET "
            + ", ".join(f"#{name} = {value}" for name, value in sets.items())
            + " REMOVE "
            + ", ".join(f"#{name}" for name in removes),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if isinstance(answer, ConditionFailed):
            return job, _current(answer.item) if answer.item else None
        return None

    def _recorded(self, job: JobStatuses, position: int) -> bool:
        """Whether the history holds the run of this status at or before it: its latest entry at or
        before its create_time says the same (a replay's older status: then its first attempt found
        it a heartbeat, or kept it already)."""
        status = job.statuses[position]
        items, _ = self._jobs.query(
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": "pk", "#sk": "sk"},
            ExpressionAttributeValues={
                ":pk": {"S": job.pk},
                ":low": {"S": layout.history_sk_bound(0)},
                ":high": {"S": layout.history_sk_bound(status.create_time, last=True)},
            },
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=1,
        )
        return bool(items) and run_of(layout.sent_job(values(items[0]))) == status.run


# The current item's attributes that planning needs (report.runs).
CURRENT_FIELDS = ("pk", "create_time", "status_rank", "run", "status_since")
# Rounds of planning and writing a report may take when a current status keeps moving under it.
PLAN_ROUNDS = 4


def _current(item: Item) -> Current:
    since = item.get("status_since")
    return Current(
        create_time=int(item["create_time"]["N"]),
        rank=item["status_rank"]["S"],
        run=item.get("run", {}).get("S", ""),  # an item without one repeats no status
        status_since=int(since["N"]) if since else None,
    )


def _key(item: Item) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]
