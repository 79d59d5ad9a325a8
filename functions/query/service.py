"""The read use cases: one job, a project's jobs by category, status and silence, a job's history, a report.

Every key read here is built from the path's project_id; what a caller sends (a filter, a token)
only chooses among that project's partitions and positions in them.

Listing. The category index (jobstatus.layout) has 16 partitions per project, sorted by category,
then (for an active category) by silence bucket. A walk over a filter is a list of "streams", in
a fixed order: each a partition, or a category's range in it; a page reads up to 16 streams at
once, each a share of `limit` index entries, then the current items of what it read in one
BatchGetItem, so read units follow the page, not the project. The token carries each stream's
position, so walking the pages of an unchanging project yields every matching job once. Silence
filters read only the matching end of each active category's range (sorted by silence bucket)
and are decided exactly on the items, as of the walk's first page (`as_of`, in the token), so
that a walk is one consistent view even as jobs go silent meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobstatus import layout, lifecycle
from jobstatus.dynamodb import Item
from jobstatus.errors import InvalidRequest, NotFound
from jobstatus.fleet import Summary, summarize
from query.models import Entry, Job, Report
from query.paging import REFUSED, PageTokens
from query.store import READERS, IndexRead, JobReads, Record

# A page that is not full is refilled from the open streams at most this many times: enough to walk
# every category's 16 shards once, so that a sparse project's first page is not empty.
MAX_ROUNDS = len(lifecycle.CATEGORIES)


@dataclass(frozen=True)
class JobFilter:
    categories: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    silent: bool | None = None

    @property
    def scope(self) -> str:
        """The filter as a token is bound to it."""
        categories = ",".join(sorted(self.categories)) if self.categories else "*"
        statuses = ",".join(sorted(self.statuses)) if self.statuses else "*"
        return f"category={categories};status={statuses};silent={self.silent}"


@dataclass(frozen=True)
class _Stream:
    partition: str
    sort_range: tuple[str, str] | None  # one category's entries, or the whole partition


class JobQueries:
    def __init__(
        self,
        reads: JobReads,
        tokens: PageTokens,
        *,
        silent_after_minutes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reads = reads
        self._tokens = tokens
        self._silent_after = silent_after_minutes
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- one job ------------------------------------------------------------------------------

    def job(self, project_id: str, job_id: int) -> Job:
        record = self._reads.current(project_id, job_id)
        if record is None:
            raise NotFound(f"job_id: this project has no job {job_id}")
        return self._with_exceptions([self._job(record, self._now_ms())])[0]

    def _job(self, record: Record, now_ms: int) -> dict[str, Any]:
        category = lifecycle.category_of(record["status"])
        reported_at = int(record["reported_at"])
        since = lifecycle.silent_since(category, reported_at, self._silent_after, now_ms)
        job: dict[str, Any] = {
            "job_id": record["job_id"],
            "status": record["status"],
            "category": category,
            "create_time": record["create_time"],
            "status_since": layout.status_since(record),
            "reported_at": reported_at,
            "message_id": record["message_id"],
            "silent": since is not None,
        }
        if since is not None:
            job["silent_since"] = since
        if "exceptions" in record:
            job["exceptions"] = record["exceptions"]
        elif "exceptions_ref" in record:
            job["exceptions"] = _Deferred(record["pk"], record["exceptions_ref"])
        return job

    def _with_exceptions(self, jobs: list[dict[str, Any]]) -> list[Job]:
        """Exceptions too large for the current item are read from the history item that holds them."""
        deferred = [job for job in jobs if isinstance(job.get("exceptions"), _Deferred)]
        if deferred:
            refs = [(job["exceptions"].pk, job["exceptions"].sk) for job in deferred]
            for job, record in zip(deferred, self._reads.items(refs, ["exceptions"]), strict=True):
                if record is None or "exceptions" not in record:
                    del job["exceptions"]  # the history item has expired
                else:
                    job["exceptions"] = record["exceptions"]
        return [Job.model_validate(job) for job in jobs]

    # --- a project's jobs ---------------------------------------------------------------------

    def jobs(self, project_id: str, where: JobFilter, *, limit: int, token: str | None) -> tuple[list[Job], str | None]:
        scope = f"jobs\n{project_id}\n{where.scope}"
        state = self._tokens.read(scope, token) if token else {"a": self._now_ms(), "p": None}
        as_of, positions = (state.get("a"), state.get("p")) if isinstance(state, dict) else (None, None)
        if not isinstance(as_of, int) or not (positions is None or isinstance(positions, list)):
            raise InvalidRequest(REFUSED)
        streams = self._streams(project_id, where, as_of)
        if positions is None:
            positions = [None] * len(streams)
        if len(positions) != len(streams):
            raise InvalidRequest(REFUSED)
        page: list[dict[str, Any]] = []
        for _ in range(MAX_ROUNDS):
            room = limit - len(page)
            # At most one stream per item of room (a small page reads few partitions), 16 at once.
            chosen = [i for i, position in enumerate(positions) if position != 0][: min(READERS, room)]
            if room <= 0 or not chosen:
                break
            quota = -(-room // len(chosen))  # every chosen stream reads its share, rounded up
            reads = [
                IndexRead(
                    index=layout.CATEGORY_INDEX,
                    partition=streams[i].partition,
                    limit=quota,
                    start=self._start_key(project_id, streams[i], positions[i]),
                    sort_range=streams[i].sort_range,
                    statuses=where.statuses,
                )
                for i in chosen
            ]
            # Entries are taken stream by stream until the page is full; a stream that gave more
            # than fits goes on, next page, right after the last entry taken from it.
            taken: list[Item] = []
            for i, read_page in zip(chosen, self._reads.index_pages(reads), strict=True):
                keys = read_page.keys[: max(0, room - len(taken))]
                if len(keys) == len(read_page.keys):
                    positions[i] = self._position(project_id, read_page.last)
                elif keys:
                    positions[i] = self._position(project_id, keys[-1])
                taken += keys
            currents = self._reads.currents(key["pk"]["S"] for key in taken)
            for key in taken:
                record = currents.get(key["pk"]["S"])
                if record is not None and self._matches(record, key, where, as_of):
                    page.append(self._job(record, as_of))
        more = any(position != 0 for position in positions)
        next_token = self._tokens.issue(scope, {"a": as_of, "p": positions}) if more else None
        return self._with_exceptions(page), next_token

    def _streams(self, project_id: str, where: JobFilter, as_of: int) -> list[_Stream]:
        partitions = [layout.category_index_pk(project_id, shard) for shard in range(layout.CATEGORY_SHARDS)]
        if where.categories is None and where.statuses is None and where.silent is None:
            return [_Stream(partition, None) for partition in partitions]  # every job: 16 partitions
        categories = [c for c in lifecycle.CATEGORIES if where.categories is None or c in where.categories]
        if where.statuses is not None:
            wanted = {lifecycle.category_of(status) for status in where.statuses}
            categories = [c for c in categories if c in wanted]
        silence_on = self._silent_after > 0
        if where.silent is True:
            categories = [c for c in categories if c in lifecycle.ACTIVE_CATEGORIES] if silence_on else []
        cutoff = as_of - lifecycle.silence_threshold_ms(self._silent_after)
        streams = []
        for category in categories:
            sort_range = layout.category_index_range(category)
            if silence_on and where.silent is not None and category in lifecycle.ACTIVE_CATEGORIES:
                if where.silent:  # the bucket began at or before the cutoff
                    sort_range = layout.category_index_range(category, last_bucket=cutoff)
                else:  # the bucket may hold a report after the cutoff
                    sort_range = layout.category_index_range(category, first_bucket=cutoff - lifecycle.MAX_BUCKET_MS)
            streams += [_Stream(partition, sort_range) for partition in partitions]
        return streams

    def _matches(self, record: Record, key: Item, where: JobFilter, as_of: int) -> bool:
        category = lifecycle.category_of(record["status"])
        if category != layout.category_of_index_sk(key[f"{layout.CATEGORY_INDEX}sk"]["S"]):
            return False  # it changed category since the index was read: it is listed where it went
        if where.categories is not None and category not in where.categories:
            return False
        if where.statuses is not None and record["status"] not in where.statuses:
            return False
        if where.silent is not None:
            silent = lifecycle.silent_since(category, int(record["reported_at"]), self._silent_after, as_of) is not None
            return silent is where.silent
        return True

    @staticmethod
    def _position(project_id: str, last: Item | None) -> Any:
        """A stream's position for the token: 0 when done, else [job_id, index sort key] of the entry read last."""
        if last is None:
            return 0
        owner, job_id = layout.parse_job_pk(last["pk"]["S"])
        if owner != project_id:  # cannot happen: every partition read is this project's
            raise RuntimeError("an index position outside the project")
        return [job_id, last[f"{layout.CATEGORY_INDEX}sk"]["S"]]

    @staticmethod
    def _start_key(project_id: str, stream: _Stream, position: Any) -> Item | None:
        """The ExclusiveStartKey for a position, rebuilt under the path's project."""
        if position is None:
            return None
        if not (isinstance(position, list) and len(position) == 2 and isinstance(position[0], int)):
            raise InvalidRequest(REFUSED)
        job_id, sort_key = position
        if not isinstance(sort_key, str):
            raise InvalidRequest(REFUSED)
        return {
            "pk": {"S": layout.job_pk(project_id, job_id)},
            "sk": {"S": layout.CURRENT_SK},
            f"{layout.CATEGORY_INDEX}pk": {"S": stream.partition},
            f"{layout.CATEGORY_INDEX}sk": {"S": sort_key},
        }

    # --- a job's history ----------------------------------------------------------------------

    def history(
        self, project_id: str, job_id: int, *, since: int, until: int, limit: int, token: str | None
    ) -> tuple[list[Entry], str | None]:
        scope = f"history\n{project_id}\n{job_id}\n{since}\n{until}"
        start = self._tokens.read(scope, token) if token else None
        if start is not None and not (isinstance(start, str) and start.startswith(layout.HISTORY_PREFIX)):
            raise InvalidRequest(REFUSED)
        records, last = self._reads.history(project_id, job_id, since=since, until=until, limit=limit, start_sk=start)
        if not records and token is None and self._reads.current(project_id, job_id) is None:
            raise NotFound(f"job_id: this project has no job {job_id}")
        now_s = self._clock()
        # Code never relies on TTL: an expired item may linger for up to two days before deletion.
        entries = [_entry(record) for record in records if record.get("expires_at", now_s + 1) > now_s]
        return entries, (self._tokens.issue(scope, last) if last else None)

    # --- the fleet at a glance ----------------------------------------------------------------

    def summary(self, project_id: str, *, limit: int) -> Summary:
        """Kept by the stream consumer (jobstatus.fleet): one read, whatever the project's size."""
        return summarize(self._reads.summaries(project_id), limit=limit)

    # --- a report -----------------------------------------------------------------------------

    def report(self, project_id: str, message_id: str) -> Report:
        record = self._reads.ledger(project_id, message_id)
        if record is None or record.get("expires_at", self._clock() + 1) <= self._clock():
            raise NotFound("message_id: this project has no report with this message_id (or it has expired)")
        return Report(message_id=message_id, received_at=record["received_at"], job_count=record["job_count"])


@dataclass(frozen=True)
class _Deferred:
    pk: str
    sk: str


def _entry(record: Record) -> Entry:
    """A history item as the job was sent (extras under their own names), plus what the service added."""
    entry = layout.sent_job(record)
    entry["received_at"] = record["received_at"]
    entry["message_id"] = record["message_id"]
    entry["category"] = lifecycle.category_of(record["status"])
    return Entry.model_validate(entry)
