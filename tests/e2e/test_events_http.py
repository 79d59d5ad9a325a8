"""The events over `make run`: reports over HTTP, events observed through an EventBridge rule with an SQS
target created on the stack's moto server, as an operator (or any client) would."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Local, start_local
from tests.support import RUN, job, report, seed_body


class Watch:
    """A rule for every edgesrv.jobs event on the default bus, with an SQS target of its own."""

    def __init__(self, local: Local) -> None:
        self._sqs, events = local.aws("sqs"), local.aws("events")
        name = f"watch-{uuid.uuid4().hex[:8]}"
        self.url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["edgesrv.jobs"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def take(self, wait_s: float, until: Any = None) -> list[dict[str, Any]]:
        """What arrives within wait_s seconds (or as soon as `until(events)` holds)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not (until and until(found)):
            messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in messages.get("Messages", []):
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return found


def kinds(found: list[dict[str, Any]], project: str) -> list[str]:
    return [e["detail-type"] for e in found if e["detail"]["project_id"] == project]


def test_the_seed_publishes_one_status_change_and_a_replay_and_heartbeat_nothing(local: Local):
    watch, project = Watch(local), uuid.uuid4().hex
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


def test_silence_over_http_reads_and_events(tmp_path: Path):
    # One stack with SilentAfterMinutes=1: the read side turns silent at the threshold, the sweep
    # (every minute, as the template schedules it) publishes Job Went Silent within two minutes of
    # it, and a report resumes the job.
    process, local = start_local(tmp_path / "out.log", "--quiet", "--parameter", "SilentAfterMinutes=1")
    try:
        watch, project = Watch(local), uuid.uuid4().hex
        jobs = report(
            job(job_id=1, status="job_running", create_time=1), job(job_id=2, status="job_finish", create_time=1)
        )
        assert local.post(project, jobs).status == 200
        reported = time.monotonic()
        assert sorted(kinds(watch.take(15, until=lambda f: len(f) >= 2), project)) == ["Job Status Changed"] * 2

        def read(job_id: int) -> dict[str, Any]:
            return dict(local.get(f"/v1/{project}/edgesrv/jobs/{job_id}").json["job"])

        assert read(1)["silent"] is False
        time.sleep(max(0.0, 61.5 - (time.monotonic() - reported)))
        assert read(1)["silent"] is True  # the read side: at the threshold, whenever the sweep runs
        assert read(2)["silent"] is False  # finished: never
        assert [j["job_id"] for j in local.get(f"/v1/{project}/edgesrv/jobs", "silent=true").json["jobs"]] == [1]
        silent = watch.take(120, until=lambda f: "Job Went Silent" in kinds(f, project))
        became_silent = reported + 60
        assert kinds(silent, project) == ["Job Went Silent"]
        assert time.monotonic() - became_silent <= 120
        (went,) = [e["detail"] for e in silent]
        assert (went["job_id"], went["status"], went["category"]) == (1, "job_running", "running")
        # a heartbeat resumes it: the read side at once, the event from the stream
        assert local.post(project, report(job(job_id=1, status="job_running", create_time=2))).status == 200
        assert read(1)["silent"] is False
        resumed = watch.take(15, until=lambda f: "Job Resumed" in kinds(f, project))
        assert kinds(resumed, project) == ["Job Resumed"]
        assert resumed[0]["detail"]["silent_since"] == went["silent_since"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_events_that_cannot_be_delivered_land_in_the_on_failure_queue(tmp_path: Path):
    # A bus that does not exist: every PutEvents fails, the consumer's retries and then the stream
    # mapping's run out, and the batch is kept in the on-failure queue the template declares.
    process, local = start_local(tmp_path / "out.log", "--quiet", "--parameter", "EventBusName=no-such-bus")
    try:
        assert local.post(uuid.uuid4().hex, seed_body()).status == 200
        sqs = local.aws("sqs")
        url = sqs.get_queue_url(QueueName="JobEventsDeadLetterQueue")["QueueUrl"]
        letters: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while not letters and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
            letters += [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        assert letters, (tmp_path / "out.log").read_text()[-2000:]
        batches = [letter["DDBStreamBatchInfo"] for letter in letters]
        assert sum(b["batchSize"] for b in batches) >= 1
        assert all(b["streamArn"].startswith("arn:aws:dynamodb:") for b in batches)
        assert "JobEventsDeadLetterQueue after 11 attempts" in (tmp_path / "out.log").read_text()
        RUN["faults"].add("EventBridge refuses every event (over make run)")
    finally:
        process.terminate()
        process.wait(timeout=30)
