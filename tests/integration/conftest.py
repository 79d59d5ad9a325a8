"""Handler tests: moto in-process, tables created from template.yaml, each function's handler built as
deployed (devkit.handlers) around clients made inside the mock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from fleet.service import Fleet
from fleet.settings import FleetSettings
from fleet.wiring import build_fleet

from devkit import handlers
from devkit.handlers import Clock, Invoke
from devkit.moto import SerializedClient, in_process
from devkit.streams import FilteredStream
from devkit.template import LOCAL_REGION
from jobstatus.observability import metrics
from report.settings import ReportSettings
from report.store import JobStatusStore
from tests.support import (
    EVENTS_FUNCTION,
    FLEET_FUNCTION,
    JOB_TABLE,
    LEDGER_TABLE,
    QUERY_FUNCTION,
    REPORT_FUNCTION,
    SWEEP_FUNCTION,
    TEMPLATE,
)
from tests.support.bus import Watch
from tests.support.clients import recorded


@pytest.fixture(autouse=True)
def _reset_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def ddb() -> Iterator[Any]:
    with in_process(TEMPLATE) as client:
        yield client


@pytest.fixture
def handler(ddb: Any) -> Invoke:
    """The report handler as deployed (template.yaml's environment, decorators), on moto's DynamoDB."""
    return handlers.report(TEMPLATE, dynamodb=recorded(REPORT_FUNCTION, "dynamodb"))


@pytest.fixture
def build() -> Callable[..., Invoke]:
    """A report handler around a given client (for fault injection), with settings and sleep to choose."""

    def make(
        client: Any,
        max_jobs: int = 100,
        sleep: Callable[[float], None] = lambda s: None,
        iot_data: Any = None,
        topic_prefix: str = "",
    ) -> Invoke:
        overrides = {
            "MAX_JOBS_PER_REPORT": str(max_jobs),
            "CONFIRM_TOPIC_PUBLISH": "true" if iot_data is not None else "false",
            "CONFIRM_TOPIC_PREFIX": topic_prefix,
        }
        settings = ReportSettings.from_env(handlers.environment(TEMPLATE, REPORT_FUNCTION, overrides))
        store = JobStatusStore(
            client,
            job_table=JOB_TABLE,
            ledger_table=LEDGER_TABLE,
            history_ttl_s=settings.history_retention_days * 86400,
            ledger_ttl_s=settings.ledger_retention_days * 86400,
            silent_after_minutes=settings.silent_after_minutes,
            pool=ThreadPoolExecutor(4),
            sleep=sleep,
        )
        return handlers.report(TEMPLATE, overrides, store=store, iot_data=iot_data, sleep=sleep)

    return make


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def serialized(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """A report's DynamoDB client as a test must use it: where the test reads the stream, its writes
    run one at a time (SerializedClient). moto numbers stream records by the count it holds, so the
    report's concurrent writers can repeat a sequence number, and a stream read then never reaches its
    end (a worker spun for 18 minutes on it)."""
    if "stream" in request.fixturenames:
        return SerializedClient
    return lambda client: client


@pytest.fixture
def reporter(ddb: Any, clock: Clock, serialized: Callable[[Any], Any]) -> Callable[..., Invoke]:
    """Report handlers on moto (or a given client) and the test's clock, for a given SilentAfterMinutes;
    writes one at a time where the test reads the stream (`serialized`)."""
    default = serialized(recorded(REPORT_FUNCTION, "dynamodb"))

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        overrides = {"SILENT_AFTER_MINUTES": str(silent_after_minutes)}
        return handlers.report(TEMPLATE, overrides, dynamodb=client or default, clock=clock)

    return make


@pytest.fixture
def reader(ddb: Any, clock: Clock) -> Callable[..., Invoke]:
    """Read handlers on moto (or a given client) and the test's clock, for a given SilentAfterMinutes."""

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        return handlers.query(
            TEMPLATE,
            {"SILENT_AFTER_MINUTES": str(silent_after_minutes)},
            dynamodb=client or recorded(QUERY_FUNCTION, "dynamodb"),
            secrets=recorded(QUERY_FUNCTION, "secretsmanager"),
            clock=clock,
            sleep=lambda s: None,
        )

    return make


@pytest.fixture
def stream(ddb: Any) -> FilteredStream:
    """The job table's stream, from now on, through the template's filter criteria."""
    return FilteredStream(ddb, boto3.client("dynamodbstreams", region_name=LOCAL_REGION), TEMPLATE)


@pytest.fixture
def bus(ddb: Any) -> Watch:
    """Every edgesrv.jobs event that reaches the default bus, through a rule with an SQS target."""
    return Watch(boto3.client("events", region_name=LOCAL_REGION), boto3.client("sqs", region_name=LOCAL_REGION))


@pytest.fixture
def events_client(ddb: Any) -> Any:
    """An EventBridge client on moto, to wrap (FaultyClient) and hand to an events handler."""
    return boto3.client("events", region_name=LOCAL_REGION)


@pytest.fixture
def consumer(ddb: Any) -> Callable[..., Invoke]:
    """Events handlers (JobEventsFunction) on moto's EventBridge and DynamoDB (or given clients), for a given
    SilentAfterMinutes."""

    def make(silent_after_minutes: int = 30, events: Any = None, dynamodb: Any = None) -> Invoke:
        return handlers.events(
            TEMPLATE,
            {"SILENT_AFTER_MINUTES": str(silent_after_minutes)},
            events=events or recorded(EVENTS_FUNCTION, "events"),
            dynamodb=dynamodb or recorded(EVENTS_FUNCTION, "dynamodb"),
            sleep=lambda s: None,
        )

    return make


@pytest.fixture
def sweeper(ddb: Any, clock: Clock) -> Callable[..., Invoke]:
    """Silence sweeps (SilenceSweepFunction) on moto (or a given client) and the test's clock."""

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        return handlers.sweep(
            TEMPLATE,
            {"SILENT_AFTER_MINUTES": str(silent_after_minutes)},
            dynamodb=client or recorded(SWEEP_FUNCTION, "dynamodb"),
            clock=clock,
        )

    return make


@pytest.fixture
def fleet(ddb: Any) -> Callable[..., Fleet]:
    """The fleet function's recount and metrics (FleetFunction) on moto, without its settle pause."""

    def make(
        silent_after_minutes: int = 30, dynamodb: Any = None, sleep: Callable[[float], None] = lambda s: None
    ) -> Fleet:
        overrides = {"SILENT_AFTER_MINUTES": str(silent_after_minutes)}
        settings = FleetSettings.from_env(handlers.environment(TEMPLATE, FLEET_FUNCTION, overrides))
        client = dynamodb if dynamodb is not None else recorded(FLEET_FUNCTION, "dynamodb")
        return build_fleet(settings, dynamodb=client, sleep=sleep)

    return make


@pytest.fixture
def fleet_handler(ddb: Any) -> Invoke:
    """The fleet function's scheduled handler as deployed, on moto."""
    return handlers.fleet(TEMPLATE, dynamodb=recorded(FLEET_FUNCTION, "dynamodb"), sleep=lambda s: None)
