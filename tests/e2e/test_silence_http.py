"""Silence over `make run`: the read side, the sweep at the template's rate, and the events it leads to.

In a file of its own because it waits out a whole minute of silence and the sweep after it: so that
the test runner can run it beside the other slow files (pytest-xdist distributes by file).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import job, report
from tests.support.bus import Watch, kinds
from tests.support.local import Local

pytestmark = pytest.mark.slow(145)


def test_silence_over_http_reads_and_events(start: Callable[..., Local]):
    # One stack with SilentAfterMinutes=1: the read side turns silent at the threshold, the sweep
    # (every minute, as the template schedules it) publishes Job Went Silent within two minutes of
    # it, and a report resumes the job.
    local = start("--quiet", "--parameter", "SilentAfterMinutes=1")
    watch, project = Watch(local.aws("events"), local.aws("sqs")), uuid.uuid4().hex
    jobs = report(job(job_id=1, status="job_running", create_time=1), job(job_id=2, status="job_finish", create_time=1))
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
