"""Every key of both tables and the items' layout: defined here only (what statuses mean: jobstatus.lifecycle).

Job status table (`pk`, `sk`):
- history    pk `{project}#JOB#{job_id}`      sk `STATUS#{create_time:016d}#{status}#{content hash}`
- no job_id  pk `{project}#MSG#{message_id}`  sk `STATUS#{create_time:016d}#{status}#{index in report}`
- current    pk `{project}#JOB#{job_id}`      sk `CURRENT`
  - category index gsi2: gsi2pk `{project}#{job_id % 16:02d}`,
    gsi2sk `{category}#{bucket:013d}#{job_id:019d}`, bucket the start of reported_at's silence
    bucket for an active category, 0 for the others (so a heartbeat of a finished job never
    moves it): a project's jobs are 16 partitions, a category a range in each
  - silence index gsi1: gsi1pk `SILENCE#{hash % 64:02d}`, gsi1sk `{bucket:013d}` (the sweep)
Ledger (idempotency table): pk `{project}#{message_id}`.

Every key a request builds begins with the project_id, so no key built for one project can reach
another's items; the silence index is read only by the sweep. `create_time` is padded to 16
digits because its maximum, 2^53, has 16. docs/design.md explains the indexes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from jobstatus.lifecycle import ACTIVE_CATEGORIES

# --- keys -------------------------------------------------------------------------------------

CURRENT_SK = "CURRENT"
HISTORY_PREFIX = "STATUS#"
# The category index key is sharded so that no project can exceed one partition's 1,000 WCU even
# when all its jobs change category at once (docs/capacity.md); a project's jobs, or one of its
# categories, are 16 queries.
CATEGORY_INDEX = "gsi2"
CATEGORY_SHARDS = 16
# The silence index spans every project, so it has more shards: a fleet-wide restart of a
# million jobs in a minute stays near 260 writes a second per shard.
SILENCE_INDEX = "gsi1"
SILENCE_SHARDS = 64
_BUCKET_DIGITS = 13  # epoch milliseconds until the year 2286


def job_pk(project_id: str, job_id: int) -> str:
    return f"{project_id}#JOB#{job_id}"


# --- item layout --------------------------------------------------------------------------------
# A history item holds the job as it was sent: its known fields as attributes of their own, its
# extra fields under `extra` (so that no field a job sends can overwrite a key or the metadata).
KNOWN_FIELDS = ("job_id", "status", "create_time", "exceptions", "metrics", "plan")


def sent_job(history: dict[str, Any]) -> dict[str, Any]:
    """The job as it was sent, from a history item's plain values: its known fields, then its extras."""
    job = {name: history[name] for name in KNOWN_FIELDS if name in history}
    job.update(history.get("extra") or {})
    return job


def status_since(current: Mapping[str, Any]) -> int:
    """When a job's current status began: the create_time of the report that opened its run. A current
    item written before runs were kept carries none: its own create_time, as its next report treats it
    (a change, which opens a run)."""
    return int(current.get("status_since", current["create_time"]))


def current_key(pk: str) -> dict[str, dict[str, str]]:
    """The key of a job's current item, in DynamoDB's AttributeValue form."""
    return {"pk": {"S": pk}, "sk": {"S": CURRENT_SK}}


def message_pk(project_id: str, message_id: str) -> str:
    """Where the statuses of jobs reported without a job_id are kept."""
    return f"{project_id}#MSG#{message_id}"


def history_sk(create_time: int, status: str, suffix: str) -> str:
    return f"{HISTORY_PREFIX}{create_time:016d}#{status}#{suffix}"


def history_sk_bound(create_time: int, *, last: bool = False) -> str:
    """The smallest (or with `last`, a key above the largest) history sort key at this create_time."""
    # "~" sorts after every status character ([A-Za-z0-9_.-]) and after "#".
    return f"{HISTORY_PREFIX}{create_time:016d}#" + ("~" if last else "")


def category_index_pk(project_id: str, shard: int) -> str:
    return f"{project_id}#{shard:02d}"


def category_shard(job_id: int) -> int:
    return job_id % CATEGORY_SHARDS


def category_index_sk(category: str, bucket: int, job_id: int) -> str:
    """Jobs sort by category, and an active category's by silence bucket: its silent jobs come first."""
    return f"{category}#{bucket if category in ACTIVE_CATEGORIES else 0:0{_BUCKET_DIGITS}d}#{job_id:019d}"


def category_index_range(
    category: str, first_bucket: int | None = None, last_bucket: int | None = None
) -> tuple[str, str]:
    """The sort keys (inclusive) of a category's entries whose bucket starts in [first, last]."""
    low = f"{category}#" + ("" if first_bucket is None else f"{max(0, first_bucket):0{_BUCKET_DIGITS}d}")
    high = f"{category}#" + ("~" if last_bucket is None else f"{max(0, last_bucket):0{_BUCKET_DIGITS}d}#~")
    return low, high


def category_of_index_sk(sort_key: str) -> str:
    return sort_key.partition("#")[0]


def silence_index_pk(project_id: str, job_id: int) -> str:
    shard = (
        int.from_bytes(hashlib.blake2b(job_pk(project_id, job_id).encode(), digest_size=4).digest()) % SILENCE_SHARDS
    )
    return _silence_shard_pk(shard)


def silence_index_pks() -> list[str]:
    return [_silence_shard_pk(shard) for shard in range(SILENCE_SHARDS)]


def _silence_shard_pk(shard: int) -> str:
    return f"SILENCE#{shard:02d}"


def silence_index_sk(bucket: int) -> str:
    return f"{bucket:0{_BUCKET_DIGITS}d}"


def parse_job_pk(pk: str) -> tuple[str, int]:
    """(project_id, job_id) of a current or history item's pk."""
    project_id, _, job_id = pk.partition("#JOB#")
    return project_id, int(job_id)


# --- the fleet summary: counters per project, maintained from the stream (jobstatus.fleet) ------------
# A project's counters are SUMMARY_SHARDS items, a job counted in the one of its category index shard,
# so that a whole project changing category at once stays under a partition's 1,000 WCU, as the
# category index does. Each job has a marker of what it is counted as. Every summary item is filed
# in the silence index under one partition of its own, which the sweep never reads, so that the
# fleet's summaries can be found without a scan (written once per item: its keys never change).
SUMMARY_SK = "COUNTS"
COUNTED_SK = "COUNTED"
SUMMARY_INDEX_PK = "SUMMARY"


def summary_pk(project_id: str, shard: int) -> str:
    return f"{project_id}#SUMMARY#{shard:02d}"


def summary_keys(project_id: str) -> list[dict[str, dict[str, str]]]:
    """The keys of a project's summary items, in DynamoDB's AttributeValue form."""
    return [summary_key(summary_pk(project_id, shard)) for shard in range(CATEGORY_SHARDS)]


def summary_key(pk: str) -> dict[str, dict[str, str]]:
    """The key of a summary item (its pk: summary_pk), in DynamoDB's AttributeValue form."""
    return {"pk": {"S": pk}, "sk": {"S": SUMMARY_SK}}


def parse_summary_pk(pk: str) -> tuple[str, int]:
    project_id, _, shard = pk.partition("#SUMMARY#")
    return project_id, int(shard)


def counted_key(pk: str) -> dict[str, dict[str, str]]:
    """The key of the marker of what a job (its pk) is counted as."""
    return {"pk": {"S": pk}, "sk": {"S": COUNTED_SK}}


def ledger_pk(project_id: str, message_id: str) -> str:
    return f"{project_id}#{message_id}"
