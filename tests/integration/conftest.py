"""Handler tests: moto in-process, tables created from template.yaml, clients built inside the mock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from fleet.handler import build_fleet
from fleet.handler import build_handler as build_fleet_handler
from fleet.service import Fleet
from fleet.settings import FleetSettings
from moto import mock_aws

from devkit.context import LambdaContext
from devkit.moto import SerializedClient
from jobstatus.observability import metrics
from notify.handler import build_handler as build_events_handler
from notify.settings import NotifySettings
from query.handler import build_handler as build_query_handler
from query.settings import QuerySettings
from report.handler import build_handler
from report.settings import ReportSettings
from report.store import JobStatusStore
from sweep.handler import build_handler as build_sweep_handler
from sweep.settings import SweepSettings
from tests.events import Bus, Stream
from tests.iam.calls import RECORDER
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

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def recorded(function: str, service: str) -> Any:
    """A client (inside the test's mock) for this function's handler, its calls recorded for the IAM
    evaluation at the end of the run (tests/iam, tests/conftest.py)."""
    return RECORDER.attach(boto3.client(service, region_name="us-east-1"), function)


def context() -> LambdaContext:
    return LambdaContext(REPORT_FUNCTION, 1024, "req-1", deadline_ms=1e15)


def report_settings(**overrides: str) -> ReportSettings:
    """The settings the report function gets from template.yaml's environment (and the given overrides)."""
    return ReportSettings.from_env(TEMPLATE.function(REPORT_FUNCTION).environment | overrides)


@pytest.fixture(autouse=True)
def _reset_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        TEMPLATE.create_tables(client)
        TEMPLATE.create_secrets(boto3.client("secretsmanager", region_name="us-east-1"))
        yield client


@pytest.fixture
def handler(ddb: Any) -> Invoke:
    """The report handler as deployed (template.yaml's environment, decorators), on moto's DynamoDB."""
    lambda_handler = build_handler(report_settings(), dynamodb=recorded(REPORT_FUNCTION, "dynamodb"))
    return lambda event: lambda_handler(event, context())


class FaultyClient:
    """A DynamoDB client that records calls and fails the ones it is told to, in order."""

    def __init__(self, client: Any, **faults: list[Any]) -> None:
        self._client = client
        self.faults = faults
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            planned = self.faults.get(name) or []
            fault = planned.pop(0) if planned else None
            if isinstance(fault, BaseException):
                raise fault
            if callable(fault):
                return fault(real, kwargs)
            return real(**kwargs)

        return call


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
        settings = report_settings(
            MAX_JOBS_PER_REPORT=str(max_jobs),
            CONFIRM_TOPIC_PUBLISH="true" if iot_data is not None else "false",
            CONFIRM_TOPIC_PREFIX=topic_prefix,
        )
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
        lambda_handler = build_handler(settings, store=store, iot_data=iot_data, sleep=sleep)
        return lambda event: lambda_handler(event, context())

    return make


class Clock:
    """A clock the tests move by hand (epoch seconds)."""

    def __init__(self, now: float = 1_796_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def query_settings(**overrides: str) -> QuerySettings:
    """The settings the read function gets from template.yaml's environment (and the given overrides)."""
    return QuerySettings.from_env(TEMPLATE.function(QUERY_FUNCTION).environment | overrides)


@pytest.fixture
def reporter(ddb: Any, clock: Clock, request: pytest.FixtureRequest) -> Callable[..., Invoke]:
    """Report handlers on moto (or a given client) and the test's clock, for a given SilentAfterMinutes.

    Where the test reads the stream, the writes run one at a time (SerializedClient): moto numbers
    stream records by the count it holds, so the report's concurrent writers can repeat a sequence
    number, and a stream read then never reaches its end (a worker spun for 18 minutes on it)."""
    own = recorded(REPORT_FUNCTION, "dynamodb")
    default = SerializedClient(own) if "stream" in request.fixturenames else own

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        settings = report_settings(SILENT_AFTER_MINUTES=str(silent_after_minutes))
        lambda_handler = build_handler(settings, dynamodb=client or default, clock=clock)
        return lambda event: lambda_handler(event, context())

    return make


@pytest.fixture
def reader(ddb: Any, clock: Clock) -> Callable[..., Invoke]:
    """Read handlers on moto (or a given client) and the test's clock, for a given SilentAfterMinutes."""

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        settings = query_settings(SILENT_AFTER_MINUTES=str(silent_after_minutes))
        lambda_handler = build_query_handler(
            settings,
            dynamodb=client or recorded(QUERY_FUNCTION, "dynamodb"),
            secrets=recorded(QUERY_FUNCTION, "secretsmanager"),
            clock=clock,
            sleep=lambda s: None,
        )
        return lambda event: lambda_handler(event, context())

    return make


@pytest.fixture
def stream(ddb: Any) -> Stream:
    """The job table's stream, from now on, through the template's filter criteria."""
    return Stream(ddb, boto3.client("dynamodbstreams", region_name="us-east-1"), TEMPLATE)


@pytest.fixture
def bus(ddb: Any) -> Bus:
    """Every edgesrv.jobs event that reaches the default bus, through a rule with an SQS target."""
    return Bus(boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1"))


@pytest.fixture
def consumer(ddb: Any) -> Callable[..., Invoke]:
    """Events handlers (JobEventsFunction) on moto's EventBridge and DynamoDB (or given clients), for a given
    SilentAfterMinutes."""

    def make(silent_after_minutes: int = 30, events: Any = None, dynamodb: Any = None) -> Invoke:
        settings = NotifySettings.from_env(
            TEMPLATE.function(EVENTS_FUNCTION).environment | {"SILENT_AFTER_MINUTES": str(silent_after_minutes)}
        )
        client = events or recorded(EVENTS_FUNCTION, "events")
        counters = dynamodb or recorded(EVENTS_FUNCTION, "dynamodb")
        lambda_handler = build_events_handler(settings, events=client, dynamodb=counters, sleep=lambda s: None)
        return lambda event: lambda_handler(event, context())

    return make


@pytest.fixture
def sweeper(ddb: Any, clock: Clock) -> Callable[..., Invoke]:
    """Silence sweeps (SilenceSweepFunction) on moto (or a given client) and the test's clock."""

    def make(silent_after_minutes: int = 30, client: Any = None) -> Invoke:
        settings = SweepSettings.from_env(
            TEMPLATE.function(SWEEP_FUNCTION).environment | {"SILENT_AFTER_MINUTES": str(silent_after_minutes)}
        )
        lambda_handler = build_sweep_handler(
            settings, dynamodb=client or recorded(SWEEP_FUNCTION, "dynamodb"), clock=clock
        )
        return lambda event: lambda_handler(event, context())

    return make


def fleet_settings(silent_after_minutes: int = 30) -> FleetSettings:
    """The settings the fleet function gets from template.yaml's environment, for a given SilentAfterMinutes."""
    environment = TEMPLATE.function(FLEET_FUNCTION).environment
    return FleetSettings.from_env(environment | {"SILENT_AFTER_MINUTES": str(silent_after_minutes)})


@pytest.fixture
def fleet(ddb: Any) -> Callable[..., Fleet]:
    """The fleet function's recount and metrics (FleetFunction) on moto, without its settle pause."""

    def make(silent_after_minutes: int = 30) -> Fleet:
        client = recorded(FLEET_FUNCTION, "dynamodb")
        return build_fleet(fleet_settings(silent_after_minutes), dynamodb=client, sleep=lambda s: None)

    return make


@pytest.fixture
def fleet_handler(ddb: Any) -> Invoke:
    """The fleet function's scheduled handler as deployed, on moto."""
    client = recorded(FLEET_FUNCTION, "dynamodb")
    lambda_handler = build_fleet_handler(fleet_settings(), dynamodb=client, sleep=lambda s: None)
    return lambda event: lambda_handler(event, context())
