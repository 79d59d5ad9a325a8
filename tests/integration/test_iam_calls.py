"""Each function's role against the AWS calls the function really makes, evaluated by an IAM policy engine.

A workload drives every function through every kind of call it makes (a report with its confirmation
publish, an oversized exceptions object, a heartbeat's replay, every read route and a second page, a
stream batch, a silence sweep, the fleet's metrics and a recount that repairs), its clients recorded
by a botocore hook (tests/iam/calls.py). The engine then
evaluates each call against the function's role as SAM translates template.yaml, and the platform's
own needs (the stream mapping, its on-failure queue, logs, X-Ray, the schedule) against theirs.
The whole run's calls are evaluated the same way when `make test` ends (tests/conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from devkit import handlers
from devkit.template import LOCAL_REGION
from jobstatus import layout
from tests.iam.calls import RECORDER, CallRecorder
from tests.iam.policies import deployed, evaluate, requests, roles, simulate
from tests.support import (
    EVENTS_FUNCTION,
    FLEET_FUNCTION,
    JOB_TABLE,
    PROJECT,
    QUERY_FUNCTION,
    REPORT_FUNCTION,
    SWEEP_FUNCTION,
    TEMPLATE,
    add_to_counter,
    job,
    load_event,
    report,
)
from tests.support.gateway import event, get_event

TOPIC_PREFIX = "hw/events/messages/"


@pytest.fixture
def recorded_calls(ddb, stream, clock) -> set[tuple[str, str, str]]:
    """Every kind of call each function makes, recorded as IAM requests."""
    recorder = CallRecorder()

    def client(function: str, service: str) -> Any:
        # this test's own record, and the run's (the evaluation at the end of make test sees them too)
        return RECORDER.attach(recorder.attach(boto3.client(service, region_name=LOCAL_REGION), function), function)

    silence = {"SILENT_AFTER_MINUTES": "1"}
    publishing = {"CONFIRM_TOPIC_PUBLISH": "true", "CONFIRM_TOPIC_PREFIX": TOPIC_PREFIX}
    report_handler = handlers.report(
        TEMPLATE,
        silence | publishing,
        dynamodb=client(REPORT_FUNCTION, "dynamodb"),
        iot_data=client(REPORT_FUNCTION, "iot-data"),
        clock=clock,
    )
    read_handler = handlers.query(
        TEMPLATE,
        silence,
        dynamodb=client(QUERY_FUNCTION, "dynamodb"),
        secrets=client(QUERY_FUNCTION, "secretsmanager"),
        clock=clock,
    )
    events_handler = handlers.events(
        TEMPLATE, silence, events=client(EVENTS_FUNCTION, "events"), dynamodb=client(EVENTS_FUNCTION, "dynamodb")
    )
    sweep_handler = handlers.sweep(TEMPLATE, silence, dynamodb=client(SWEEP_FUNCTION, "dynamodb"), clock=clock)
    fleet_handler = handlers.fleet(TEMPLATE, silence, dynamodb=client(FLEET_FUNCTION, "dynamodb"), sleep=lambda s: None)

    def ok(response: dict[str, Any]) -> dict[str, Any]:
        assert response["statusCode"] == 200, response["body"]
        return dict(json.loads(response["body"]))

    # reports: the seed (with its confirmation topic), and a job whose exceptions live in its history item
    ok(report_handler(load_event("report/seed.json")))
    large = {"error_type": "X", "trace": "x" * 40_000}
    ok(report_handler(event(report(job(job_id=7, status="job_running_exception", exceptions=large)))))

    # a heartbeat, a newer status, then the heartbeat's replay: its older status is checked against the history
    beat = event(report(job(job_id=8, status="job_running", create_time=2), message_id="beat"))
    ok(report_handler(event(report(job(job_id=8, status="job_running", create_time=1)))))
    ok(report_handler(beat))
    ok(report_handler(event(report(job(job_id=8, status="job_finish", create_time=3)))))
    ok(report_handler(beat))

    # every read route, and a second page (a token, signed with the key from Secrets Manager)
    def read(path: str, query: str = "") -> dict[str, Any]:
        return ok(read_handler(get_event(path, query)))

    read(f"/v1/{PROJECT}/edgesrv/jobs/99270")
    assert read(f"/v1/{PROJECT}/edgesrv/jobs/7")["job"]["exceptions"] == large
    first = read(f"/v1/{PROJECT}/edgesrv/jobs", "limit=1")
    read(f"/v1/{PROJECT}/edgesrv/jobs", f"limit=1&next_token={first['next_token']}")
    read(f"/v1/{PROJECT}/edgesrv/jobs/99270/history")
    read(f"/v1/{PROJECT}/edgesrv/job-report", "message_id=uuid")
    # the stream's changes published; then a job that goes silent, marked by the sweep, published too
    ok(report_handler(event(report(job(job_id=9, status="job_running")))))
    assert events_handler(stream.batch()) == {"batchItemFailures": []}
    clock.advance(300)
    assert sweep_handler({})["marked"] >= 1
    assert events_handler(stream.batch()) == {"batchItemFailures": []}
    read(f"/v1/{PROJECT}/edgesrv/job-summary")
    # the fleet's metrics; a recount that finds a job's marker gone and a counter off, and repairs both
    assert fleet_handler({"task": "metrics"}) == {"projects": 1}
    ddb.delete_item(TableName=JOB_TABLE, Key=layout.counted_key(layout.job_pk(PROJECT, 9)))
    add_to_counter(ddb, PROJECT, 8, "s#job_cancel_success", 1)
    assert fleet_handler({"task": "audit"})["drift"] > 0
    return recorder.calls


def test_every_call_is_allowed_by_its_functions_role_and_every_grant_is_needed(recorded_calls):
    template = deployed()
    verdict = evaluate(recorded_calls, template)
    assert verdict.denied == []
    # No grant is there for nothing: each is needed by a recorded call or by the platform.
    assert verdict.unused == []
    # Every function made calls, of the kinds its code makes.
    functions = {function for function, _, _ in recorded_calls}
    assert functions == {REPORT_FUNCTION, QUERY_FUNCTION, EVENTS_FUNCTION, SWEEP_FUNCTION, FLEET_FUNCTION}


def test_deleting_any_grant_denies_a_call_or_a_need_that_relied_on_it(recorded_calls):
    template = deployed()
    granted = roles(template)
    cases = requests(recorded_calls, template, granted)
    evaluated = sorted({name for name, role in granted.items() if role.arn in {c["principal"] for c in cases}})
    # Every statement of every role evaluated, deleted in turn: all of them in one run of the engine.
    variants = [(name, statement["Sid"]) for name in evaluated for _, statement in granted[name].statements()]
    batch = []
    for name, sid in variants:
        for item in requests(recorded_calls, template, granted | {name: granted[name].without(sid)}):
            batch.append({**item, "id": f"{name} without {sid}|{item['id']}"})
    decisions = simulate(batch)
    denied = {d["id"].split("|")[0] for d in decisions if d["decision"] != "Allowed"}
    assert denied == {f"{name} without {sid}" for name, sid in variants}
    assert len(variants) >= 20  # the five functions' roles and the schedules'
