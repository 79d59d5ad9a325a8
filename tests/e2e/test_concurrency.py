"""Concurrent reports over real HTTP: exactly-once effect, one winner per message_id, newest status wins."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support import RUN, account, job, report
from tests.support.local import Local


def shape(found: dict[str, list[dict[str, Any]]], project: str) -> list[tuple[str, str]]:
    """Keys without the project, to compare what two projects hold."""
    return [(i["pk"]["S"].removeprefix(project), i.get("sk", {}).get("S", "")) for t in found.values() for i in t]


def post_all(local: Local, project: str, bodies: list[dict[str, Any]], threads: int = 50) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(lambda b: local.post(project, b).status, bodies))
    RUN["concurrent"] += len(bodies)
    return statuses


def test_50_identical_reports_at_once_store_exactly_one_report(local: Local):
    body = report(job(job_id=1), job(job_id=2, status="job_finish"), job(job_id=None), message_id="same-message")
    single, burst = uuid.uuid4().hex, uuid.uuid4().hex
    assert local.post(single, body).status == 200
    assert post_all(local, burst, [body] * 50) == [200] * 50
    found = local.items(burst)
    assert len(found["IdempotencyTable"]) == 1
    account(shape(local.items(single), single), shape(found, burst))
    assert shape(found, burst) == shape(local.items(single), single)


def test_50_payloads_racing_for_one_message_id_have_exactly_one_winner(local: Local):
    project = uuid.uuid4().hex
    bodies = [report(job(job_id=100 + i), message_id="contested") for i in range(50)]
    statuses = post_all(local, project, bodies)
    assert sorted(statuses) == [200] + [422] * 49
    winner = bodies[statuses.index(200)]["jobs"][0]["job_id"]
    stored = {i["pk"]["S"] for i in local.items(project)["JobStatusTable"]}
    assert stored == {f"{project}#JOB#{winner}"}


def test_200_shuffled_reports_for_one_job_leave_the_newest_status(local: Local):
    project = uuid.uuid4().hex
    times = list(range(1_000, 1_200))
    random.Random(7).shuffle(times)  # noqa: S311
    bodies = [report(job(job_id=42, status=f"status_{t}", create_time=t)) for t in times]
    assert post_all(local, project, bodies) == [200] * 200
    current = local.dynamodb().get_item(
        TableName="JobStatusTable", Key={"pk": {"S": f"{project}#JOB#42"}, "sk": {"S": "CURRENT"}}
    )["Item"]
    assert (current["status"]["S"], current["create_time"]["N"]) == ("status_1199", "1199")
    history = [i["sk"]["S"].split("#")[2] for i in local.items(project)["JobStatusTable"] if i["sk"]["S"] != "CURRENT"]
    account([f"status_{t}" for t in times], history)
    assert len(history) == 200  # every status kept: none lost
