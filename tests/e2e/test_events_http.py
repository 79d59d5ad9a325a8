"""The events over `make run`: a report over HTTP, its event observed through an EventBridge rule with an SQS
target created on the stack's moto server, as an operator (or any client) would. (What each report publishes,
and what happens when EventBridge fails: tests/integration/test_events.py and test_local_streams.py.)"""

from __future__ import annotations

import uuid

from tests.support import seed_body
from tests.support.bus import Watch, kinds
from tests.support.local import Local


def test_the_seed_reaches_a_rule_on_the_default_bus_as_one_status_change(local: Local):
    watch, project = Watch(local.aws("events"), local.aws("sqs")), uuid.uuid4().hex
    assert local.post(project, seed_body()).status == 200
    arrived = watch.take(30, until=lambda found: kinds(found, project))
    (changed,) = [e for e in arrived if e["detail"]["project_id"] == project]
    assert (changed["source"], changed["detail-type"]) == ("edgesrv.jobs", "Job Status Changed")
    detail = changed["detail"]
    assert (detail["job_id"], detail["status"], detail["category"], detail["previous_status"]) == (
        99270,
        "job_submit_fail",
        "failed",
        None,
    )
    assert detail["exceptions"] == seed_body()["jobs"][0]["exceptions"]
