"""The events over `make run`: reports over HTTP, events observed through an EventBridge rule with an SQS
target created on the stack's moto server, as an operator (or any client) would."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import RUN, job, report, seed_body
from tests.support.bus import Watch, kinds
from tests.support.local import Local

pytestmark = pytest.mark.slow(65)


def test_the_seed_publishes_one_status_change_and_a_replay_and_heartbeat_nothing(local: Local):
    watch, project = Watch(local.aws("events"), local.aws("sqs")), uuid.uuid4().hex
    assert local.post(project, seed_body()).status == 200
    (changed,) = [e for e in watch.take(15, until=lambda f: f) if e["detail"]["project_id"] == project]
    assert (changed["source"], changed["detail-type"]) == ("edgesrv.jobs", "Job Status Changed")
    detail = changed["detail"]
    assert (detail["status"], detail["category"], detail["previous_status"]) == ("job_submit_fail", "failed", None)
    assert detail["exceptions"] == seed_body()["jobs"][0]["exceptions"]
    # a replay of the seed, and a heartbeat: nothing
    assert local.post(project, seed_body()).status == 200
    heartbeat = report(job(job_id=99270, status="job_submit_fail", create_time=1591104999999))
    assert local.post(project, heartbeat).status == 200
    assert kinds(watch.take(6), project) == []
    # a later job_running names the status before it
    later = report(job(job_id=99270, status="job_running", create_time=1591105000000))
    assert local.post(project, later).status == 200
    (running,) = [e for e in watch.take(15, until=lambda f: f) if e["detail"]["project_id"] == project]
    assert (running["detail"]["status"], running["detail"]["previous_status"]) == ("job_running", "job_submit_fail")
    assert running["detail"]["event_id"] != detail["event_id"]


def test_events_that_cannot_be_delivered_land_in_the_on_failure_queue(start: Callable[..., Local]):
    # A bus that does not exist: every PutEvents fails, the consumer's retries and then the stream
    # mapping's run out, and the batch is kept in the on-failure queue the template declares.
    local = start("--quiet", "--parameter", "EventBusName=no-such-bus")
    tmp_log = local.log
    assert local.post(uuid.uuid4().hex, seed_body()).status == 200
    sqs = local.aws("sqs")
    url = sqs.get_queue_url(QueueName="JobEventsDeadLetterQueue")["QueueUrl"]
    letters: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    while not letters and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        letters += [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    assert letters, tmp_log.read_text()[-2000:]
    batches = [letter["DDBStreamBatchInfo"] for letter in letters]
    assert sum(b["batchSize"] for b in batches) >= 1
    assert all(b["streamArn"].startswith("arn:aws:dynamodb:") for b in batches)
    # the local run says so once the message is sent: a moment after the queue holds it
    said = "JobEventsDeadLetterQueue after 11 attempts"
    deadline = time.monotonic() + 10
    while said not in tmp_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert said in tmp_log.read_text()
    RUN["faults"].add("EventBridge refuses every event (over make run)")
