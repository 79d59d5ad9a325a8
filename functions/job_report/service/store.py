"""DynamoDB access: item layout, sizes, and the two write phases. The only module that touches the AWS SDK.

Layout (README.md, "Data model", has the full table):
- history  pk `{project}#JOB#{job_id}`      sk `STATUS#{create_time:016d}#{status}#{content hash}`
- no job_id pk `{project}#MSG#{message_id}` sk `STATUS#{create_time:016d}#{status}#{index in report}`
- current  pk `{project}#JOB#{job_id}`      sk `CURRENT`, gsi1pk `{project}#{job_id % 16:02d}`, gsi1sk `JOB#{job_id}`
- ledger   pk `{project}#{message_id}`      (the idempotency table)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.errors import DependencyUnavailable, PayloadConflict, ReportTooLarge

Item = dict[str, Any]  # one item in DynamoDB's AttributeValue form

# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
MAX_ITEM_BYTES = 400 * 1024
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
BATCH_SIZE = 25
# Phase-2 writes run concurrently on this many threads (a 25-job report's 26 calls in one
# wave); botocore's connection pool is as large.
WRITERS = 32
# The project index key is sharded so that no project can exceed one partition's 1,000 WCU
# even when all its jobs are new at once (docs/capacity.md); a project's jobs are 16 queries.
GSI_SHARDS = 16
# UnprocessedItems are retried with capped exponential backoff and full jitter, a bounded
# number of times, so the function always answers well inside its timeout.
BATCH_ATTEMPTS = 6
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.05, 0.8


def _serialize(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue.

    boto3's TypeSerializer does this, but importing boto3 costs about 30 ms of cold start
    (it pulls in s3transfer, measured by `make bench`) and this function needs only botocore.
    Inputs are already validated (models.py): str, bool, None, int, Decimal, list, dict.
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
        return {"M": {k: _serialize(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_serialize(v) for v in value]}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def dynamodb_client() -> Any:
    """One client per execution environment, shared by every call and thread (botocore clients are thread-safe).

    Timeouts are short because DynamoDB answers in milliseconds; botocore's standard retry
    mode retries throttling and 5xx with backoff. Worst case per call: 3 attempts x 3 s plus
    backoff, and the function's timeout (template.yaml) allows for two sequential phases.

    Client-side parameter validation is off, as botocore documents for performance: every
    request is built here from a validated report, the tests send each shape to moto, and
    DynamoDB validates again on its side (a refused request is a 500, see _fault). It saves
    about 5% of the CPU per 1-job report and 10% per 25-job report (make bench).
    """
    return botocore.session.get_session().create_client(
        "dynamodb",
        config=Config(
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=WRITERS,
            tcp_keepalive=True,
            parameter_validation=False,
        ),
    )


@dataclass(slots=True)
class Writes:
    """Everything one report writes, built and size-checked before anything is sent."""

    payload_hash: str
    project_id: str
    message_id: str
    ledger_extra: Item = field(default_factory=dict)
    history: list[Item] = field(default_factory=list)
    current: list[Item] = field(default_factory=list)

    @property
    def ledger_key(self) -> str:
        return f"{self.project_id}#{self.message_id}"


@dataclass(frozen=True, slots=True)
class JobEntry:
    """One job of a report, in the form the use case hands to storage."""

    index: int
    document: dict[str, Any]  # the job as sent: known fields that are present, extras
    extra_names: frozenset[str]
    digest: str  # hash of the job's canonical form
    newest: bool  # the newest status of its job_id in this report
    rank: str


def item_size(item: Item) -> int:
    """Bytes as DynamoDB counts them for the 400 KB limit and for write units.

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


class JobStatusStore:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        ledger_table: str,
        history_ttl_s: int,
        ledger_ttl_s: int,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._job_table = job_table
        self._ledger_table = ledger_table
        self._history_ttl_s = history_ttl_s
        self._ledger_ttl_s = ledger_ttl_s
        self._pool = pool or ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ddb")
        self._sleep = sleep

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
            writes.ledger_extra = {"extra": _serialize(report_extra)}
        seen: set[tuple[str, str]] = set()
        for job in jobs:
            doc = job.document
            status, create_time, job_id = doc["status"], doc["create_time"], doc.get("job_id")
            if job_id is None:
                pk, suffix = f"{project_id}#MSG#{message_id}", str(job.index)
            else:
                pk, suffix = f"{project_id}#JOB#{job_id}", job.digest
            sk = f"STATUS#{create_time:016d}#{status}#{suffix}"
            if (pk, sk) in seen:  # the same job twice in one report: one item (and BatchWriteItem
                continue  # refuses duplicate keys in a request)
            seen.add((pk, sk))
            item: Item = {"pk": {"S": pk}, "sk": {"S": sk}, "message_id": {"S": message_id}}
            extra = {}
            for name, value in doc.items():
                if name in job.extra_names:
                    extra[name] = value
                else:
                    item[name] = _serialize(value)
            if extra:
                item["extra"] = _serialize(extra)
            # received_at and expires_at are added after phase 1; count them now (13 and 10 digits).
            size = item_size(item) + len("received_at") + 8 + len("expires_at") + 7
            if size > MAX_ITEM_BYTES:
                biggest = max(doc, key=lambda n: item_size({n: _serialize(doc[n])}))
                raise ReportTooLarge(
                    f"jobs[{job.index}].{biggest}: the job is {size} bytes stored, over DynamoDB's "
                    f"{MAX_ITEM_BYTES}-byte item limit"
                )
            writes.history.append(item)
            if job_id is not None and job.newest:
                writes.current.append(
                    {
                        "pk": pk,
                        ":st": {"S": status},
                        ":ct": {"N": str(create_time)},
                        ":rk": {"S": job.rank},
                        ":jid": {"N": str(job_id)},
                        ":mid": {"S": message_id},
                        ":g1pk": {"S": f"{project_id}#{job_id % GSI_SHARDS:02d}"},
                        ":g1sk": {"S": f"JOB#{job_id}"},
                    }
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
        try:
            response = self._client.update_item(
                TableName=self._ledger_table,
                Key={"pk": {"S": writes.ledger_key}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_not_exists(pk) OR payload_hash = :h",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise PayloadConflict("message_id: already used in this project with a different payload") from None
            raise _fault(exc) from exc
        except BotoCoreError as exc:
            raise _fault(exc) from exc
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
        tasks: list[Callable[[], None]] = []
        for start in range(0, len(writes.history), BATCH_SIZE):
            batch = [item | stamp for item in writes.history[start : start + BATCH_SIZE]]
            tasks.append(partial(self._put_batch, batch))
        for update in writes.current:
            tasks.append(partial(self._update_current, update, received_at_ms))
        if not tasks:
            return
        # The last task runs on this thread: a 1-job report needs no thread hand-off for it.
        futures: list[Future[None]] = [self._pool.submit(task) for task in tasks[:-1]]
        errors: list[BaseException] = []
        try:
            tasks[-1]()
        except Exception as exc:  # noqa: BLE001 - collected, then raised once all writes finished
            errors.append(exc)
        for future in futures:
            if (error := future.exception()) is not None:
                errors.append(error)
        if errors:
            raise errors[0]

    def _put_batch(self, items: list[Item]) -> None:
        request = {self._job_table: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(BATCH_ATTEMPTS):
            try:
                response = self._client.batch_write_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise _fault(exc) from exc
            request = response.get("UnprocessedItems") or {}
            if not request:
                return
            if attempt + 1 < BATCH_ATTEMPTS:
                # Jitter spreads retries out; it guards nothing, so a non-cryptographic generator is right.
                delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))  # noqa: S311 # nosec B311
                self._sleep(delay)
        raise DependencyUnavailable("DynamoDB left items unprocessed after retries")

    def _update_current(self, update: Item, received_at_ms: int) -> None:
        values = {k: v for k, v in update.items() if k.startswith(":")}
        values[":at"] = {"N": str(received_at_ms)}
        try:
            self._client.update_item(
                TableName=self._job_table,
                Key={"pk": {"S": update["pk"]}, "sk": {"S": "CURRENT"}},
                UpdateExpression=(
                    "SET #st = :st, create_time = :ct, status_rank = :rk, job_id = :jid, message_id = :mid, "
                    "updated_at = :at, gsi1pk = if_not_exists(gsi1pk, :g1pk), gsi1sk = if_not_exists(gsi1sk, :g1sk)"
                ),
                # Only a newer (create_time, rank) moves the current status, so arrival order
                # never matters; an equal one is the same status and needs no write.
                ConditionExpression=(
                    "attribute_not_exists(pk) OR create_time < :ct OR (create_time = :ct AND status_rank < :rk)"
                ),
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise _fault(exc) from exc
        except BotoCoreError as exc:
            raise _fault(exc) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _fault(exc: ClientError | BotoCoreError) -> Exception:
    """Throttling, 5xx and network faults are retryable (503); a refused request is a bug (500)."""
    if isinstance(exc, ClientError) and _code(exc) == "ValidationException":
        return RuntimeError(f"DynamoDB refused a request: {exc}")
    return DependencyUnavailable(type(exc).__name__)
