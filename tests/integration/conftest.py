"""Handler tests: moto in-process, tables created from template.yaml, clients built inside the mock."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from localapi.worker import LambdaContext
from service.api import create_app
from service.observability import metrics
from service.report import ReportService
from service.store import JobStatusStore
from tests.support import JOB_TABLE, LEDGER_TABLE, TEMPLATE

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def context() -> LambdaContext:
    return LambdaContext("JobReportFunction", 1024, "req-1", deadline_ms=1e15)


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
        yield client


@pytest.fixture
def handler(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The real entry point, app.lambda_handler, imported with the environment template.yaml declares."""
    for name, value in TEMPLATE.function().environment.items():
        monkeypatch.setenv(name, value)
    module = importlib.reload(sys.modules["app"]) if "app" in sys.modules else importlib.import_module("app")
    # app.py freezes everything alive at the end of init, meant for a Lambda process that imports
    # it once; this process reloads it for every test, so the collector gets the heap back.
    gc.unfreeze()
    return lambda event: module.lambda_handler(event, context())


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
    """An app around a given client (for fault injection), routed like the real one."""

    def make(
        client: Any,
        max_jobs: int = 100,
        sleep: Callable[[float], None] = lambda s: None,
        publisher: Any = None,
        topic_prefix: str = "",
    ) -> Invoke:
        store = JobStatusStore(
            client,
            job_table=JOB_TABLE,
            ledger_table=LEDGER_TABLE,
            history_ttl_s=30 * 86400,
            ledger_ttl_s=7 * 86400,
            pool=ThreadPoolExecutor(4),
            sleep=sleep,
        )
        app = create_app(ReportService(store, max_jobs=max_jobs, publisher=publisher, topic_prefix=topic_prefix))
        return lambda event: app.resolve(event, cast(Any, context()))

    return make
