"""Write units, read units and round trips of the report and read paths, measured on moto in-process.

The handlers are built exactly as deployed (template.yaml's environment, `build_handler`), around a
client that meters what DynamoDB would bill (benchmarks.capacity), or one that records when each
call starts and ends. Sequential round trips are then the longest chain of calls in which each
starts after the one before it has ended: calls that overlap are one round trip. (The report
path's phases are measured by the slope of wall time against an injected delay, in
benchmarks/__main__.py; here the calls run against moto in-process, whose CPU time under the GIL
would swamp a slope.)
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# In process, botocore would send DynamoDB Streams calls to an account-based host moto does not match.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from devkit.capacity import Meter
from devkit.context import LambdaContext
from devkit.events import http_event, match
from devkit.moto import SerializedClient
from devkit.template import HttpRoute, LocalTemplate
from jobstatus import model
from localapi.streams import StreamMapping
from notify.handler import build_handler as build_notify
from notify.settings import NotifySettings
from query.handler import build_handler as build_query
from query.settings import QuerySettings
from report.handler import build_handler as build_report
from report.settings import ReportSettings

TEMPLATE = LocalTemplate.read()
JOB_TABLE = "JobStatusTable"
PROJECT = "48cc2c48765f481480c7db940d6409d1"
START = 1_795_999_500.0  # epoch seconds on a 15-minute boundary: the default silence bucket starts here
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Timeline:
    """A client that records each call's start and end, with `delay` seconds of network added to it."""

    def __init__(self, client: Any, delay: float = 0.01) -> None:
        self._client, self._delay = client, delay
        self.calls: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**request: Any) -> Any:
            started = time.perf_counter()
            time.sleep(self._delay)
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


@contextmanager
def tables() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        TEMPLATE.create_tables(client)
        TEMPLATE.create_secrets(boto3.client("secretsmanager", region_name="us-east-1"))
        yield client


def report_handler(client: Any, clock: Clock) -> Handler:
    settings = ReportSettings.from_env(TEMPLATE.function("JobReportFunction").environment)
    handler = build_report(settings, dynamodb=client, clock=clock)
    return lambda event: handler(event, LambdaContext("JobReportFunction", 1024, "bench", 1e15))


def query_handler(client: Any, clock: Clock) -> Handler:
    settings = QuerySettings.from_env(TEMPLATE.function("JobQueryFunction").environment)
    handler = build_query(settings, dynamodb=client, clock=clock)
    return lambda event: handler(event, LambdaContext("JobQueryFunction", 1024, "bench", 1e15))


def post(jobs: list[dict[str, Any]], message_id: str | None = None, project: str = PROJECT) -> dict[str, Any]:
    body = json.dumps({"jobs": jobs, "message_id": message_id or str(uuid.uuid4())}).encode()
    path = f"/v1/{project}/edgesrv/job-report"
    route, parameters = _matched("POST", path)
    return http_event(route, path, parameters, headers={"content-type": "application/json"}, body=body)


def get(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    route, parameters = _matched("GET", path)
    return http_event(route, path, parameters, query=urlencode(query or {}))


def _matched(method: str, path: str) -> tuple[HttpRoute, dict[str, str]]:
    found = match(TEMPLATE.routes(), method, path)
    assert found is not None, f"{method} {path}: no route in template.yaml"
    return found


def job(status: str, create_time: int, job_id: int = 99270) -> dict[str, Any]:
    return {"job_id": job_id, "status": status, "create_time": create_time}


# --- the report path's write units -----------------------------------------------------------


def report_write_units() -> dict[str, Any]:
    """WRU per 1-job report, table and indexes apart, for each kind of report; and an hour of heartbeats."""
    out: dict[str, Any] = {}
    with tables() as client:
        meter, clock = Meter(client, TEMPLATE), Clock()
        send = report_handler(meter, clock)

        def measure(name: str, event: dict[str, Any], advance_s: float = 60) -> None:
            clock.now += advance_s
            meter.reset()
            assert send(event)["statusCode"] == 200
            out[name] = dict(meter.writes)

        measure("new job", post([job("job_running", 1)]))
        measure("heartbeat", post([job("job_running", 2)]))
        replay = post([job("job_running", 3)], message_id="bench-replay")
        measure("heartbeat, again", replay)
        measure("replay", replay)
        measure("older report (out of order)", post([job("job_init", 0)]))
        measure("status change, same category", post([job("job_savepointing", 4)]))
        measure("status change, new category", post([job("job_running_exception", 5)]))
        measure("status change, back to active", post([job("job_running", 6)]))
        measure("heartbeat crossing a silence bucket", post([job("job_running", 7)]), advance_s=900)
        # An hour of one heartbeat a minute for one running job: what the indexes add on average.
        meter.reset()
        for minute in range(60):
            clock.now += 60
            assert send(post([job("job_running", 100 + minute)]))["statusCode"] == 200
        hour = dict(meter.writes)
        out["an hour of heartbeats"] = hour
        out["hour index per report"] = (hour.get("gsi1", 0) + hour.get("gsi2", 0)) / 60
    return out


# --- the read path -----------------------------------------------------------------------------


def _populate(client: Any, clock: Clock, project: str, jobs: int) -> None:
    """`jobs` running jobs in a project: one written by the report path, the rest cloned from it with
    their own keys (put into moto's backend directly: the report path would take minutes for 100,000)."""
    send = report_handler(client, clock)
    assert send(post([job("job_running", 1, job_id=1)], project=project))["statusCode"] == 200
    first = client.get_item(
        TableName=JOB_TABLE, Key={"pk": {"S": model.job_pk(project, 1)}, "sk": {"S": model.CURRENT_SK}}
    )["Item"]
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    bucket = int(first["gsi1sk"]["S"])
    for job_id in range(2, jobs + 1):
        item = dict(first) | {
            "pk": {"S": model.job_pk(project, job_id)},
            "job_id": {"N": str(job_id)},
            "gsi1pk": {"S": model.silence_index_pk(project, job_id)},
            "gsi2pk": {"S": model.category_index_pk(project, model.category_shard(job_id))},
            "gsi2sk": {"S": model.category_index_sk("running", bucket, job_id)},
        }
        backend.put_item(JOB_TABLE, item)


def read_units(sizes: tuple[int, ...] = (1_000, 100_000), page: int = 100) -> dict[str, Any]:
    """RRU of the first page of `page` jobs of one category, and of GET job, per project size."""
    out: dict[str, Any] = {}
    with tables() as client:
        clock = Clock()
        for size in sizes:
            project = f"size{size}"
            _populate(client, clock, project, size)
            meter = Meter(client, TEMPLATE)
            read = query_handler(meter, clock)
            response = read(get(f"/v1/{project}/edgesrv/jobs", {"category": "running", "limit": str(page)}))
            listed = json.loads(response["body"])["jobs"]
            assert response["statusCode"] == 200, response["body"][:300]
            assert len(listed) == page
            page_units = sum(meter.reads.values())
            calls = dict(meter.calls)
            meter.reset()
            assert read(get(f"/v1/{project}/edgesrv/jobs/{size // 2}"))["statusCode"] == 200
            out[str(size)] = {"page_rru": page_units, "page_calls": calls, "get_rru": sum(meter.reads.values())}
    return out


def read_round_trips() -> dict[str, dict[str, Any]]:
    """Sequential DynamoDB round trips (and calls) of GET job and of a 100-job page of one category."""
    out: dict[str, dict[str, Any]] = {}
    with tables() as client:
        clock = Clock()
        _populate(client, clock, PROJECT, 1_000)
        for name, event in (
            ("get job", get(f"/v1/{PROJECT}/edgesrv/jobs/500")),
            ("page of one category", get(f"/v1/{PROJECT}/edgesrv/jobs", {"category": "running", "limit": "100"})),
        ):
            timeline = Timeline(client)
            assert query_handler(timeline, clock)(event)["statusCode"] == 200
            out[name] = {"round_trips": timeline.round_trips(), "calls": len(timeline.calls)}
    return out


# --- the events side: stream consumer invocations and PutEvents calls ------------------------------


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


class InProcess:
    """The events function as the local stream mapping invokes it, in this process."""

    def __init__(self, events: CountingEvents) -> None:
        self.function = TEMPLATE.function("JobEventsFunction")
        settings = NotifySettings.from_env(self.function.environment)
        self._handler = build_notify(settings, events=events, sleep=lambda s: None)

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        return self._handler(event, LambdaContext("JobEventsFunction", 1024, request_id, 1e15))


def event_counts(heartbeats: int = 1_000, changes: int = 100) -> dict[str, Any]:
    """What the events side does for heartbeats (nothing to publish) and for status changes, through
    the template's stream mapping (filter criteria, batch size) as `make run` applies it."""
    out: dict[str, Any] = {}
    with tables() as client:
        clock = Clock()
        send = report_handler(SerializedClient(client), clock)
        events = CountingEvents(boto3.client("events", region_name="us-east-1"))
        (trigger,) = TEMPLATE.streams()
        mapping = StreamMapping(
            trigger,
            InProcess(events),  # type: ignore[arg-type]
            streams=boto3.client("dynamodbstreams", region_name="us-east-1"),
            sqs=boto3.client("sqs", region_name="us-east-1"),
            stream_arn=client.describe_table(TableName=JOB_TABLE)["Table"]["LatestStreamArn"],
            queue_urls={},
            stopped=threading.Event(),
        )
        iterators: dict[str, str] = {}
        mapping._refresh(iterators)

        def drain() -> tuple[int, int, int]:
            """(records, invocations, PutEvents calls) since the last drain."""
            records, invocations, calls = 0, mapping.invocations, events.calls
            while True:
                # As Lambda batches: up to BatchSize records that pass the filter (the history puts
                # between them do not), however many reads that takes.
                batch = mapping._read(iterators, trigger.batch_size)
                while (
                    batch
                    and len(batch) < trigger.batch_size
                    and (more := mapping._read(iterators, trigger.batch_size - len(batch)))
                ):
                    batch += more
                if not batch:
                    return records, mapping.invocations - invocations, events.calls - calls
                records += len(batch)
                mapping._deliver(batch)

        def stored(event: dict[str, Any]) -> None:
            assert send(event)["statusCode"] == 200  # a refused report would make every count below 0

        jobs = range(1, changes + 1)
        for start in range(1, changes + 1, 25):  # the jobs' first statuses
            stored(post([job("job_running", 1, job_id=j) for j in range(start, min(start + 25, changes + 1))]))
        first = drain()
        assert first[0] >= changes, f"the stream gave {first[0]} records for {changes} new jobs"
        for minute in range(heartbeats):  # job 1 reporting the same status, newer each minute
            clock.now += 60
            stored(post([job("job_running", 2 + minute, job_id=1)]))
        records, invocations, calls = drain()
        assert records >= heartbeats, f"the stream gave {records} records for {heartbeats} heartbeats"
        out["heartbeats"] = {
            "reports": heartbeats,
            "records": records,
            "invocations": invocations,
            "put_events_calls": calls,
            "batch_size": trigger.batch_size,
        }
        entries = events.entries
        for start in range(1, changes + 1, 25):  # every job changes status once
            stored(post([job("job_finish", 10**6, job_id=j) for j in jobs if start <= j < start + 25]))
        records, invocations, calls = drain()
        assert events.entries - entries == changes, f"{events.entries - entries} events for {changes} changes"
        out["changes"] = {
            "changes": changes,
            "records": records,
            "invocations": invocations,
            "put_events_calls": calls,
            "events": events.entries - entries,
        }
    return out


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "writes": report_write_units(),
                "reads": read_units(),
                "round trips": read_round_trips(),
                "events": event_counts(),
            },
            indent=1,
        )
    )
