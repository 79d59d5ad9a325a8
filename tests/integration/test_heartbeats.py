"""Status runs end to end under moto: history keeps changes, heartbeats fold into the current status.

Every hard case of the contract's "Status runs": a replay of a heartbeat, a replay after a newer
status arrived, a crash between the phases, two statuses of a job in one report, a late report
inside a run, a first report, a job without job_id, other metrics, an unknown field; arrival order;
what a heartbeat costs (metered as DynamoDB bills it); KeepHeartbeats; status_since on the read
routes and the events.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit import handlers
from devkit.capacity import Meter
from devkit.costs import LIMITS
from jobstatus import layout, lifecycle
from tests.support import JOB_TABLE, PROJECT, TEMPLATE, current, deserialize, job, load_event, report, scan
from tests.support.clients import FaultyClient, client_error
from tests.support.gateway import event, get_event

MINUTE_MS = 60_000


def history(ddb: Any, job_id: int, project: str = PROJECT) -> list[tuple[int, str, Any]]:
    """(create_time, status, metrics) of every history entry of a job, oldest first."""
    prefix = layout.job_pk(project, job_id)
    items = [
        deserialize(i) for i in scan(ddb, JOB_TABLE) if i["pk"]["S"] == prefix and i["sk"]["S"] != layout.CURRENT_SK
    ]
    return [(i["create_time"], i["status"], i.get("metrics")) for i in items]


@pytest.fixture
def send(ddb, clock, serialized):
    """A report handler on a write meter (DynamoDB's billing rules): send(body) -> status code. The meter
    reads through `ddb` itself, unrecorded, so that its reads are not taken for the function's."""
    meter = Meter(serialized(ddb), TEMPLATE)
    handler = handlers.report(TEMPLATE, dynamodb=meter, clock=clock)

    def send(body: dict[str, Any]) -> int:
        return int(handler(event(body))["statusCode"])

    send.meter = meter  # type: ignore[attr-defined]
    return send


def test_a_job_reported_every_minute_for_an_hour_without_change_has_one_history_entry(send, ddb, clock):
    first = 1_796_000_000_000
    for minute in range(60):
        clock.advance(60)
        assert send(report(job(job_id=1, create_time=first + minute * MINUTE_MS))) == 200
    assert history(ddb, 1) == [(first, "job_running", None)]
    now = current(ddb, 1)
    assert now["create_time"] == first + 59 * MINUTE_MS
    assert now["reported_at"] == int(clock.now * 1000)
    assert now["status_since"] == first


def test_a_heartbeat_costs_the_ledger_and_the_current_item_and_nothing_else(send, ddb, clock):
    assert send(report(*[job(job_id=j, create_time=1) for j in (1, 2, 3)])) == 200
    send.meter.reset()
    assert send(report(job(job_id=1, create_time=2))) == 200
    assert dict(send.meter.writes) == {
        "table": LIMITS.heartbeat_wru
    }  # the ledger, the current item: no history, no index
    send.meter.reset()
    assert send(report(*[job(job_id=j, create_time=3) for j in (1, 2, 3)])) == 200
    assert dict(send.meter.writes) == {"table": LIMITS.heartbeat_3_jobs_wru}


def test_a_status_change_costs_what_it_did_before_heartbeats_folded(send, ddb):
    assert send(report(job(job_id=1, create_time=1))) == 200
    send.meter.reset()
    assert send(report(job(job_id=1, status="job_savepointing", create_time=2))) == 200
    assert send.meter.writes["table"] == LIMITS.change_wru  # the ledger, the history item, the current item


def test_a_replay_of_a_heartbeat_writes_nothing(send, ddb):
    send(report(job(job_id=1, create_time=1)))
    beat = report(job(job_id=1, create_time=2), message_id="beat")
    send(beat)
    before = scan(ddb, JOB_TABLE)
    send.meter.reset()
    assert send(beat) == 200
    assert scan(ddb, JOB_TABLE) == before
    assert dict(send.meter.writes) == {"table": 1}  # the ledger's conditional write, which changes nothing


def test_a_replay_after_a_newer_status_arrived_writes_nothing_its_first_attempt_did_not(send, ddb):
    send(report(job(job_id=1, create_time=1)))
    beat = report(job(job_id=1, create_time=2), message_id="beat")
    send(beat)
    send(report(job(job_id=1, status="job_finish", create_time=3)))
    assert send(beat) == 200  # now older than the current status: its run is in the history already
    assert history(ddb, 1) == [(1, "job_running", None), (3, "job_finish", None)]
    assert current(ddb, 1)["status"] == "job_finish"


def test_a_replay_of_a_change_lost_between_the_phases_restores_its_history(ddb, clock):
    # Given a change whose history put failed after its current update landed (a crash between writes)
    send_ok = handlers.report(TEMPLATE, dynamodb=ddb, clock=clock)
    send_ok(event(report(job(job_id=1, create_time=1))))
    failing = FaultyClient(ddb, batch_write_item=[client_error("InternalServerError", "BatchWriteItem")])
    body = report(job(job_id=1, status="job_finish", create_time=2), message_id="change")
    assert handlers.report(TEMPLATE, dynamodb=failing, clock=clock)(event(body))["statusCode"] == 503
    assert current(ddb, 1)["status"] == "job_finish"
    assert history(ddb, 1) == [(1, "job_running", None)]
    # When the agent retries, even after a newer status arrived
    send_ok(event(report(job(job_id=1, status="job_running", create_time=3))))
    assert send_ok(event(body))["statusCode"] == 200
    # Then nothing is lost
    assert history(ddb, 1) == [(1, "job_running", None), (2, "job_finish", None), (3, "job_running", None)]


def test_a_crash_before_a_heartbeat_landed_is_completed_by_the_retry(ddb, clock):
    send_ok = handlers.report(TEMPLATE, dynamodb=ddb, clock=clock)
    send_ok(event(report(job(job_id=1, create_time=1))))
    failing = FaultyClient(ddb, update_item=[None, client_error("InternalServerError", "UpdateItem")])
    beat = report(job(job_id=1, create_time=2), message_id="beat")
    assert handlers.report(TEMPLATE, dynamodb=failing, clock=clock)(event(beat))["statusCode"] == 503
    assert current(ddb, 1)["create_time"] == 1
    assert send_ok(event(beat))["statusCode"] == 200
    assert (current(ddb, 1)["create_time"], current(ddb, 1)["status_since"]) == (2, 1)
    assert history(ddb, 1) == [(1, "job_running", None)]


def test_two_statuses_of_a_job_in_one_report_are_a_run_or_a_change_as_in_two_reports(send, ddb):
    assert send(report(job(job_id=1, create_time=2), job(job_id=1, create_time=1))) == 200
    assert history(ddb, 1) == [(1, "job_running", None)]
    assert (current(ddb, 1)["create_time"], current(ddb, 1)["status_since"]) == (2, 1)
    assert send(report(job(job_id=2, create_time=1), job(job_id=2, status="job_finish", create_time=2))) == 200
    assert history(ddb, 2) == [(1, "job_running", None), (2, "job_finish", None)]
    assert current(ddb, 2)["status_since"] == 2


def test_a_late_report_inside_a_run_is_kept_and_moves_nothing(send, ddb):
    send(report(job(job_id=1, create_time=1)))
    send(report(job(job_id=1, create_time=5)))
    assert send(report(job(job_id=1, create_time=3))) == 200
    assert history(ddb, 1) == [(1, "job_running", None), (3, "job_running", None)]
    assert (current(ddb, 1)["create_time"], current(ddb, 1)["status_since"]) == (5, 1)


def test_a_first_report_opens_the_run_and_a_job_without_job_id_is_always_kept(send, ddb):
    assert send(report(job(job_id=1, create_time=7))) == 200
    assert (history(ddb, 1), current(ddb, 1)["status_since"]) == ([(7, "job_running", None)], 7)
    for _ in range(2):
        assert send(report(job(job_id=None, create_time=7))) == 200
    loose = [i for i in scan(ddb, JOB_TABLE) if i["pk"]["S"].startswith(layout.message_pk(PROJECT, ""))]
    assert len(loose) == 2  # one per report: a status without a job_id has no run to fold into


@pytest.mark.parametrize(
    "same_status", [{"metrics": {"cpu": 2}}, {"agent_version": "2.1"}], ids=["other metrics", "an unknown field"]
)
def test_the_same_status_with_other_content_is_a_change(send, ddb, same_status):
    send(report(job(job_id=1, create_time=1, metrics={"cpu": 1})))
    assert send(report(job(job_id=1, create_time=2, **({"metrics": {"cpu": 1}} | same_status)))) == 200
    assert len(history(ddb, 1)) == 2
    assert current(ddb, 1)["status_since"] == 2


def test_keep_heartbeats_keeps_every_report_in_history(ddb, clock):
    send = handlers.report(TEMPLATE, {"KEEP_HEARTBEATS": "true"}, dynamodb=ddb, clock=clock)
    for minute in range(5):
        assert send(event(report(job(job_id=1, create_time=minute))))["statusCode"] == 200
    assert [t for t, _, _ in history(ddb, 1)] == [0, 1, 2, 3, 4]
    assert (current(ddb, 1)["create_time"], current(ddb, 1)["status_since"]) == (4, 0)


def test_status_since_is_on_the_read_routes_and_the_status_change_event(send, ddb, reader, stream, consumer, bus):
    send(report(job(job_id=1, create_time=1)))
    send(report(job(job_id=1, create_time=2)))
    answer = json.loads(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/1"))["body"])["job"]
    assert (answer["create_time"], answer["status_since"]) == (2, 1)
    listed = json.loads(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs"))["body"])["jobs"]
    assert [j["status_since"] for j in listed] == [1]
    assert consumer()(stream.batch()) == {"batchItemFailures": []}
    (changed,) = [e["detail"] for e in bus.received()]  # the heartbeat published nothing
    assert (changed["status"], changed["status_since"]) == ("job_running", 1)


def test_an_item_written_before_runs_were_kept_is_read_published_and_reported_on(
    send, ddb, reader, stream, consumer, bus, sweeper, clock
):
    # Given a current item as the release before wrote it: no run, no status_since
    send(report(job(job_id=1, create_time=5)))
    ddb.update_item(
        TableName=JOB_TABLE,
        Key=layout.current_key(layout.job_pk(PROJECT, 1)),
        UpdateExpression="REMOVE #r, #s",
        ExpressionAttributeNames={"#r": "run", "#s": "status_since"},
    )
    stream.batch()
    # Then it reads with its own create_time as status_since
    answer = json.loads(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/1"))["body"])["job"]
    assert answer["status_since"] == 5
    # And the stream records of it publish: its silence, its next report (a change, opening a run)
    clock.advance(3600)
    assert sweeper()({})["marked"] == 1
    send(report(job(job_id=1, status="job_finish", create_time=6)))
    assert consumer()(stream.batch()) == {"batchItemFailures": []}
    published = [(e["detail-type"], e["detail"].get("status_since")) for e in bus.received()]
    assert published == [("Job Went Silent", None), ("Job Resumed", None), ("Job Status Changed", 6)]
    assert current(ddb, 1)["status_since"] == 6
    # And a status change the release before wrote, still in the stream when this one is deployed
    record = load_event("notify/status-changed.json")
    assert "status_since" not in record["Records"][0]["dynamodb"]["NewImage"]
    assert consumer()(record) == {"batchItemFailures": []}
    (changed,) = [e["detail"] for e in bus.received()]
    assert changed["status_since"] == changed["create_time"]


STATUSES = ["job_running", "job_finish", "job_init"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reported=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(STATUSES), st.sampled_from([None, {"cpu": 1}])),
        min_size=1,
        max_size=6,
    ),
    seed=st.randoms(use_true_random=False),
)
def test_any_arrival_order_keeps_the_current_status_and_every_status_at_least_once(ddb, clock, reported, seed):
    # Given one job's statuses (time, status, metrics), reported in order and in a shuffled order
    send = handlers.report(TEMPLATE, dynamodb=ddb, clock=clock)
    job_id = random.Random(repr(reported)).randrange(1, 2**62)  # noqa: S311 # a fresh job per example
    jobs = [job(job_id=job_id, status=s, create_time=t, **({"metrics": m} if m else {})) for t, s, m in reported]
    in_order = sorted(
        jobs, key=lambda j: (j["create_time"], lifecycle.status_rank(j["status"]), repr(j.get("metrics")))
    )
    shuffled = jobs[:]
    seed.shuffle(shuffled)
    found = {}
    for project, order in (("inorder", in_order), ("shuffled", shuffled)):
        for body in order:
            assert send(event(report(body), project=project))["statusCode"] == 200
        found[project] = (history(ddb, job_id, project), current(ddb, job_id, project))
    # Then the current status does not depend on the order
    assert found["inorder"][1]["status"] == found["shuffled"][1]["status"]
    assert found["inorder"][1]["create_time"] == found["shuffled"][1]["create_time"]
    # and every status the job reported is in its history at least once, whatever the order
    said = {(j["status"], "metrics" in j) for j in jobs}
    for project in found:
        assert {(s, m is not None) for _, s, m in found[project][0]} == said
