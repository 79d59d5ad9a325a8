"""Metrics (EMF), log lines and the confirmation publish, as an operator and an agent see them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.metrics.provider import cold_start
from botocore.exceptions import EndpointConnectionError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iotdata.models import iotdata_backends

from jobstatus.observability import logger, metrics
from tests.support import job, load_event, report
from tests.support.clients import FaultyClient, client_error
from tests.support.gateway import event, headers_of

TOPIC = "hw/events/messages/dli/message/confirm"


class _CurrentStdout:
    """Writes to whatever sys.stdout is now (capsys's stream during a test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture(autouse=True)
def _logs_to_capsys() -> Iterator[None]:
    # The Logger bound the sys.stdout of the moment it was created.
    handler = cast("logging.StreamHandler[Any]", logger.registered_handler)
    previous = handler.setStream(_CurrentStdout())
    yield
    handler.setStream(previous)


def emitted(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(EMF documents, log lines) written to stdout."""
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line], [line for line in lines if "level" in line]


def metric_names(documents: list[dict[str, Any]]) -> dict[str, float]:
    found = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "EdgeJobReport"
            assert all("project_id" not in dimensions for dimensions in directive["Dimensions"])
            for metric in directive["Metrics"]:
                found[metric["Name"]] = (
                    sum(document[metric["Name"]])
                    if isinstance(document[metric["Name"]], list)
                    else document[metric["Name"]]
                )
    return found


@pytest.mark.parametrize(
    ("events", "metrics", "message"),
    [
        (["report/seed.json"], {"ReportsAccepted": 1, "JobsStored": 1}, "report stored"),
        (["report/seed.json", "report/seed-replay.json"], {"Replays": 1}, "report replayed"),
        (["report/seed.json", "report/seed-conflict.json"], {"Conflicts": 1}, "report refused"),
        (["report/bad-missing-create-time.json"], {"ValidationErrors": 1}, "report refused"),
    ],
)
def test_each_outcome_emits_its_metric_and_a_correlated_log_line(handler, capsys, events, metrics, message):
    for name in events:
        handler(load_event(name))
    documents, logs = emitted(capsys)
    last = logs[-1]
    # Then the last invocation's EMF document carries its counter, without a project dimension
    assert metrics.items() <= metric_names(documents[-1:]).items()
    # And its log line says what happened, with the correlation keys and none of the body's text
    assert last["message"] == message
    assert last["request_id"] == load_event(events[-1])["requestContext"]["requestId"]
    assert last["project_id"] == "48cc2c48765f481480c7db940d6409d1"
    assert last["correlation_id"] == last["request_id"]
    if message != "report refused" or "conflict" in events[-1]:
        assert last["message_id"] == "uuid"
        assert last["job_count"] == 1
    text = json.dumps(logs)
    assert "JOB_SUBMIT_EXCEPTION" not in text
    assert "agent_submit_job_exception_error" not in text


def test_cold_start_is_counted_once_per_environment(handler, capsys, monkeypatch):
    monkeypatch.setattr(cold_start, "is_cold_start", True)  # as in a fresh execution environment
    handler(load_event("report/seed.json"))
    handler(event(report(job())))
    documents, _ = emitted(capsys)
    assert sum(metric_names([d]).get("ColdStart", 0) for d in documents) == 1


def test_dependency_fault_emits_its_metric_and_a_warning(build, ddb, capsys):
    faulty = FaultyClient(ddb, update_item=[client_error("InternalServerError", "UpdateItem")])
    assert build(faulty)(event(report(job())))["statusCode"] == 503
    metrics.flush_metrics()
    documents, logs = emitted(capsys)
    assert metric_names(documents)["DependencyFaults"] == 1
    assert logs[-1]["level"] == "WARNING"
    assert logs[-1]["fault"] == "ClientError"


def test_big_fields_never_reach_the_logs(handler, capsys):
    secret = "PLAN-TEXT-" + "x" * 200
    handler(event(report(job(plan=secret, metrics={"m": secret}, exceptions=secret))))
    handler(event(report(job(plan=secret, create_time=-1))))
    _, logs = emitted(capsys)
    assert logs
    assert "PLAN-TEXT" not in json.dumps(logs)


# --- confirmation publish ------------------------------------------------------------------


def published() -> list[tuple[str, dict[str, Any]]]:
    backend = iotdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(topic, json.loads(payload)) for topic, payload in backend.published_payloads]


@pytest.fixture
def confirming(build, ddb):
    iot = boto3.client("iot-data", region_name="us-east-1")
    return build(ddb, iot_data=iot, topic_prefix="hw/events/")


def test_one_confirmation_per_stored_report_and_per_replay(confirming):
    assert confirming(load_event("report/seed.json"))["statusCode"] == 200
    assert confirming(load_event("report/seed-replay.json"))["statusCode"] == 200
    assert published() == [(TOPIC, {"message_id": "uuid", "is_success": True})] * 2


def test_no_confirmation_without_a_topic_or_for_a_refused_report(confirming):
    assert confirming(event(report(job())))["statusCode"] == 200
    assert confirming(load_event("report/bad-missing-create-time.json"))["statusCode"] == 400
    assert published() == []


def test_failing_iot_endpoint_leaves_a_stored_200(build, ddb, capsys):
    class Unreachable:
        calls = 0

        def publish(self, **kwargs: Any) -> None:
            Unreachable.calls += 1
            raise EndpointConnectionError(endpoint_url="https://iot.example")

    invoke = build(ddb, iot_data=Unreachable(), topic_prefix="hw/")
    response = invoke(load_event("report/seed.json"))
    assert response["statusCode"] == 200
    assert "idempotent-replayed" not in headers_of(response)
    assert ddb.scan(TableName="JobStatusTable")["Count"] == 2
    assert Unreachable.calls == 3  # bounded retries
    metrics.flush_metrics()
    documents, logs = emitted(capsys)
    assert metric_names(documents)["ConfirmationFailures"] == 1
    assert any(line["message"].startswith("confirmation publish failed") for line in logs)
