"""What the report, read and events paths cost, counted in this process on moto: write and read units
(devkit/capacity.py's meter), sequential DynamoDB round trips of a read, stream records, events-function
invocations and PutEvents calls.

Every count is deterministic: the tests assert them (tests/integration/test_costs.py) and `make bench`
prints them (benchmarks/__main__.py), both from these functions. LIMITS is what the project holds
itself to today, in one place: change a number here when a change of design changes a cost.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from devkit import handlers
from devkit.capacity import Meter
from devkit.events import request
from devkit.handlers import Clock, Invoke
from devkit.moto import SerializedClient, in_process
from devkit.streams import FilteredStream
from devkit.template import LOCAL_REGION, LocalTemplate
from jobstatus import fleet, layout

TEMPLATE = LocalTemplate.read()
JOB_TABLE = "JobStatusTable"
PROJECT = "48cc2c48765f481480c7db940d6409d1"
START = 1_795_999_500.0  # epoch seconds on a 15-minute boundary: the default silence bucket starts here


@dataclass(frozen=True)
class Limits:
    """The most each cost may be today: the tests fail above these, and `make bench` shows them as targets."""

    heartbeat_wru: float = 2  # a 1-job heartbeat (same status, newer create_time): the ledger, the current item
    heartbeat_3_jobs_wru: float = 4  # a 3-job heartbeat: the ledger, three current items
    change_wru: float = 3  # a 1-job status change or first report: the ledger, the history item, the current item
    heartbeat_category_index_wru: float = 0
    change_over_heartbeat_wru: float = 3  # a 1-job status change, any kind, over a heartbeat: history, index
    replay_over_heartbeat_wru: float = 0  # a replay of a 1-job report, over a heartbeat
    hour_index_per_report: float = 0.3  # index WRU per report, averaged over an hour of a heartbeat a minute
    page_rru_growth: float = 1.1  # a 100-job page of a category at 100,000 jobs over the same at 1,000
    get_job_round_trips: int = 1
    page_round_trips: int = 2  # index queries, then item reads: by design (docs/design.md#reads)
    heartbeat_put_events: int = 0  # PutEvents calls for any number of heartbeats
    extra_invocations: int = 1  # events-function invocations for N heartbeats: ceil(N / BatchSize) + this
    put_events_per_100_changes: int = 10
    summary_rru_growth: float = 1.1  # GET .../job-summary at 100,000 jobs over the same at 1,000 (contract: 10%)
    summary_round_trips: int = 1  # the project's summary items in one BatchGetItem (contract: at most 2)
    counters_change_wru: float = 4  # a change of what a job counts as: a transaction of two small updates
    counters_heartbeat_wru: float = 0  # a heartbeat counts as what it was: the counters are not written


LIMITS = Limits()


def report(jobs: list[dict[str, Any]], message_id: str | None = None, project: str = PROJECT) -> dict[str, Any]:
    """The event of a report of these jobs."""
    body = json.dumps({"jobs": jobs, "message_id": message_id or str(uuid.uuid4())}).encode()
    path = f"/v1/{project}/edgesrv/job-report"
    return request(TEMPLATE.routes(), "POST", path, headers={"content-type": "application/json"}, body=body)


def read(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """The event of a GET of this path and query."""
    return request(TEMPLATE.routes(), "GET", path, query=urlencode(query or {}))


def job(status: str, create_time: int, job_id: int = 99270) -> dict[str, Any]:
    return {"job_id": job_id, "status": status, "create_time": create_time}


class Unexpected(RuntimeError):
    """A step of a measurement did not go as every count after it assumes (a refused report, a failed batch)."""


def ok(response: dict[str, Any]) -> dict[str, Any]:
    """The response of a request that must succeed."""
    if response["statusCode"] != 200:
        raise Unexpected(f"{response['statusCode']}: {response['body'][:300]}")
    return response


def accepted(invoke: Invoke, event: dict[str, Any]) -> None:
    ok(invoke(event))  # a refused report would make every count below meaningless


# --- the report path's write units -----------------------------------------------------------------


def report_write_units() -> dict[str, Any]:
    """WRU per 1-job report, table and indexes apart, for each kind of report; and an hour of heartbeats."""
    out: dict[str, Any] = {}
    with in_process(TEMPLATE) as client:
        meter, clock = Meter(client, TEMPLATE), Clock(START)
        send = handlers.report(TEMPLATE, dynamodb=meter, clock=clock)

        def measure(name: str, event: dict[str, Any], advance_s: float = 60) -> None:
            clock.advance(advance_s)
            meter.reset()
            accepted(send, event)
            out[name] = dict(meter.writes)

        measure("new job", report([job("job_running", 1)]))
        measure("heartbeat", report([job("job_running", 2)]))
        replay = report([job("job_running", 3)], message_id="bench-replay")
        measure("heartbeat, again", replay)
        measure("replay", replay)
        measure("older report (out of order)", report([job("job_init", 0)]))
        measure("status change, same category", report([job("job_savepointing", 4)]))
        measure("status change, new category", report([job("job_running_exception", 5)]))
        measure("status change, back to active", report([job("job_running", 6)]))
        measure("heartbeat crossing a silence bucket", report([job("job_running", 7)]), advance_s=900)
        # An hour of one heartbeat a minute for one running job: what the indexes add on average.
        meter.reset()
        for minute in range(60):
            clock.advance(60)
            accepted(send, report([job("job_running", 100 + minute)]))
        hour = dict(meter.writes)
        out["an hour of heartbeats"] = hour
        out["hour index per report"] = (hour.get("gsi1", 0) + hour.get("gsi2", 0)) / 60
    return out


STATUS_CHANGES = ("status change, same category", "status change, new category", "status change, back to active")


def total(writes: dict[str, float]) -> float:
    """WRU of one measured report: its table and index writes."""
    return float(sum(writes.values()))


# --- the read path ---------------------------------------------------------------------------------


def _populate(client: Any, clock: Clock, project: str, jobs: int) -> None:
    """`jobs` running jobs in a project: one written by the report path, the rest cloned from it with
    their own keys (put into moto's backend directly: the report path would take minutes for 100,000)."""
    send = handlers.report(TEMPLATE, dynamodb=client, clock=clock)
    accepted(send, report([job("job_running", 1, 1)], project=project))
    first = client.get_item(
        TableName=JOB_TABLE, Key={"pk": {"S": layout.job_pk(project, 1)}, "sk": {"S": layout.CURRENT_SK}}
    )["Item"]
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION]
    bucket = int(first["gsi1sk"]["S"])
    for job_id in range(2, jobs + 1):
        item = dict(first) | {
            "pk": {"S": layout.job_pk(project, job_id)},
            "job_id": {"N": str(job_id)},
            "gsi1pk": {"S": layout.silence_index_pk(project, job_id)},
            "gsi2pk": {"S": layout.category_index_pk(project, layout.category_shard(job_id))},
            "gsi2sk": {"S": layout.category_index_sk("running", bucket, job_id)},
        }
        backend.put_item(JOB_TABLE, item)


def read_units(sizes: tuple[int, ...] = (1_000, 100_000), page: int = 100) -> dict[str, Any]:
    """RRU of the first page of `page` jobs of one category, and of GET job, per project size."""
    out: dict[str, Any] = {}
    with in_process(TEMPLATE) as client:
        clock = Clock(START)
        for size in sizes:
            project = f"size{size}"
            _populate(client, clock, project, size)
            meter = Meter(client, TEMPLATE)
            get = handlers.query(TEMPLATE, dynamodb=meter, clock=clock)
            listed = ok(get(read(f"/v1/{project}/edgesrv/jobs", {"category": "running", "limit": str(page)})))
            if len(json.loads(listed["body"])["jobs"]) != page:
                raise Unexpected(f"the page of {size} running jobs is not full")
            page_units, calls = sum(meter.reads.values()), dict(meter.calls)
            meter.reset()
            ok(get(read(f"/v1/{project}/edgesrv/jobs/{size // 2}")))
            out[str(size)] = {"page_rru": page_units, "page_calls": calls, "get_rru": sum(meter.reads.values())}
    return out


class Timeline:
    """A client that holds each call `hold_s` seconds (the network) and records when it started and ended.

    Calls that do not wait for each other are sent at once (query/store.py): held that long, they
    overlap, and are one round trip.
    """

    def __init__(self, client: Any, hold_s: float = 0.1) -> None:
        self._client, self._hold_s = client, hold_s
        self.calls: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**request: Any) -> Any:
            started = time.perf_counter()
            time.sleep(self._hold_s)
            try:
                return real(**request)
            finally:
                with self._lock:
                    self.calls.append((name, started, time.perf_counter()))

        return call

    def round_trips(self) -> int:
        """The longest chain of calls, each started after the previous one ended."""
        depth: list[int] = []
        ordered = sorted(self.calls, key=lambda c: c[1])
        for i, (_, start, _) in enumerate(ordered):
            before = [depth[j] for j in range(i) if ordered[j][2] <= start]
            depth.append(1 + max(before, default=0))
        return max(depth, default=0)


def read_round_trips() -> dict[str, dict[str, Any]]:
    """Sequential DynamoDB round trips (and calls) of GET job and of a 100-job page of one category."""
    out: dict[str, dict[str, Any]] = {}
    with in_process(TEMPLATE) as client:
        clock = Clock(START)
        _populate(client, clock, PROJECT, 1_000)
        for name, event in (
            ("get job", read(f"/v1/{PROJECT}/edgesrv/jobs/500")),
            ("page of one category", read(f"/v1/{PROJECT}/edgesrv/jobs", {"category": "running", "limit": "100"})),
        ):
            timeline = Timeline(client)
            ok(handlers.query(TEMPLATE, dynamodb=timeline, clock=clock)(event))
            out[name] = {"round_trips": timeline.round_trips(), "calls": len(timeline.calls)}
    return out


# --- the events side: stream records, events-function invocations, PutEvents calls -----------------


class CountingEvents:
    """An EventBridge client that counts PutEvents calls and entries."""

    def __init__(self, client: Any) -> None:
        self._client, self.calls, self.entries = client, 0, 0

    def put_events(self, **request: Any) -> Any:
        self.calls += 1
        self.entries += len(request["Entries"])
        return self._client.put_events(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def event_counts(heartbeats: int = 1_000, changes: int = 100) -> dict[str, Any]:
    """What the events side does for heartbeats (nothing to publish) and for status changes: the records
    the template's filter criteria let through, in batches of its BatchSize as Lambda invokes the events
    function with them, and the PutEvents calls the function makes."""
    out: dict[str, Any] = {}
    with in_process(TEMPLATE) as client:
        clock = Clock(START)
        # One write at a time: moto numbers stream records by the count it holds, so the report's
        # concurrent writes could share a sequence number (DynamoDB's are unique).
        send = handlers.report(TEMPLATE, dynamodb=SerializedClient(client), clock=clock)
        events = CountingEvents(boto3.client("events", region_name=LOCAL_REGION))
        consume = handlers.events(TEMPLATE, events=events, sleep=lambda s: None)
        stream = FilteredStream(client, boto3.client("dynamodbstreams", region_name=LOCAL_REGION), TEMPLATE)

        def drain() -> tuple[int, int, int]:
            """(records, invocations, PutEvents calls) since the last drain."""
            batches, calls = stream.batches(), events.calls
            for batch in batches:
                if consume(batch) != {"batchItemFailures": []}:
                    raise Unexpected("the events function failed records of a batch")
            return sum(len(b["Records"]) for b in batches), len(batches), events.calls - calls

        for start in range(1, changes + 1, 25):  # the jobs' first statuses
            accepted(send, report([job("job_running", 1, j) for j in range(start, min(start + 25, changes + 1))]))
        drain()
        for minute in range(heartbeats):  # job 1 reporting the same status, newer each minute
            clock.advance(60)
            accepted(send, report([job("job_running", 2 + minute, 1)]))
        records, invocations, calls = drain()
        out["heartbeats"] = {
            "reports": heartbeats,
            "records": records,
            "invocations": invocations,
            "put_events_calls": calls,
            "batch_size": stream.trigger.batch_size,
        }
        entries = events.entries
        for start in range(1, changes + 1, 25):  # every job changes status once
            accepted(send, report([job("job_finish", 10**6, j) for j in range(start, min(start + 25, changes + 1))]))
        records, invocations, calls = drain()
        out["changes"] = {
            "changes": changes,
            "records": records,
            "invocations": invocations,
            "put_events_calls": calls,
            "events": events.entries - entries,
        }
    return out


def most_invocations(reports: int, batch_size: int) -> int:
    """The events-function invocations LIMITS allows for this many heartbeats."""
    return math.ceil(reports / batch_size) + LIMITS.extra_invocations


# --- the fleet summary: its read, and the counters the events function keeps ----------------------
# A fleet of each size as counters: 60% running, 20% finished, 15% failed for three reasons, 5% of a
# status this service does not know; the summary items hold a counter per category, status and reason.
FLEET_MIX = (
    (60, fleet.Counted("running", "job_running", False, None)),
    (20, fleet.Counted("finished", "job_finish", False, None)),
    (7, fleet.Counted("failed", "job_submit_fail", False, ("JOB_SUBMIT_EXCEPTION", "Agent.51000"))),
    (5, fleet.Counted("failed", "job_running_exception", False, ("RUNTIME_EXCEPTION", "Flink.0002"))),
    (3, fleet.Counted("failed", "job_running_exception", False, (None, None))),
    (5, fleet.Counted("unknown", "job_future", False, None)),
)


def _count_fleet(client: Any, project: str, jobs: int) -> None:
    """A project's summary items as `jobs` jobs of FLEET_MIX leave them, written directly (what counting
    them one change at a time writes is measured apart: summary_costs' counter writes)."""
    bounds, below = [], 0
    for share, state in FLEET_MIX:
        below += share
        bounds.append((below, state))
    shards: dict[int, Counter[str]] = {}
    reasons: dict[int, dict[str, str]] = {}
    for job_id in range(1, jobs + 1):
        state = next(s for bound, s in bounds if job_id % 100 < bound)
        shard = layout.category_shard(job_id)
        shards.setdefault(shard, Counter()).update(fleet.deltas(None, state))
        reasons.setdefault(shard, {}).update(fleet.names(state))
    for shard, change in shards.items():
        update = fleet.counter_update(layout.summary_pk(project, shard), change, reasons[shard])["Update"]
        client.update_item(TableName=JOB_TABLE, **update)


def summary_costs(sizes: tuple[int, ...] = (1_000, 100_000)) -> dict[str, Any]:
    """RRU and sequential round trips of GET .../job-summary per project size; and the WRU the events
    function writes to the counters for a job's first status, a heartbeat, a status change within a
    category, and a change of category (each a 1-job report, its stream records consumed)."""
    out: dict[str, Any] = {}
    with in_process(TEMPLATE) as client:
        clock = Clock(START)
        for size in sizes:
            project = f"fleet{size}"
            _count_fleet(client, project, size)
            meter, timeline = Meter(client, TEMPLATE), Timeline(client)
            summary = read(f"/v1/{project}/edgesrv/job-summary")
            answer = json.loads(ok(handlers.query(TEMPLATE, dynamodb=meter, clock=clock)(summary))["body"])
            if answer["summary"]["jobs"] != size:
                raise Unexpected(f"the summary of {size} jobs counts {answer['summary']['jobs']}")
            ok(handlers.query(TEMPLATE, dynamodb=timeline, clock=clock)(summary))
            out[str(size)] = {
                "rru": sum(meter.reads.values()),
                "calls": dict(meter.calls),
                "round_trips": timeline.round_trips(),
            }
        # One write at a time, for the stream's sake (event_counts says why).
        send = handlers.report(TEMPLATE, dynamodb=SerializedClient(client), clock=clock)
        counters = Meter(client, TEMPLATE)
        bus = boto3.client("events", region_name=LOCAL_REGION)
        consume = handlers.events(TEMPLATE, events=bus, dynamodb=counters, sleep=lambda s: None)
        stream = FilteredStream(client, boto3.client("dynamodbstreams", region_name=LOCAL_REGION), TEMPLATE)
        for name, status, create_time in (
            ("first status", "job_running", 1),
            ("heartbeat", "job_running", 2),
            ("change, same category", "job_savepointing", 3),
            ("change of category", "job_running_exception", 4),
        ):
            clock.advance(60)
            accepted(send, report([job(status, create_time)]))
            counters.reset()
            if consume(stream.batch()) != {"batchItemFailures": []}:
                raise Unexpected("the events function failed a record")
            out[f"counters, {name}"] = dict(counters.writes)
    return out
