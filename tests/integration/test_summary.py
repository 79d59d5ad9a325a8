"""The fleet at a glance, end to end under moto: reports -> the table's stream -> the events function's
counters -> GET .../job-summary, checked against a recount of the current items made here.

The stream is read through the template's filter criteria and delivered as Lambda would, faults
included: a batch delivered twice, a batch split by bisect, a crash mid-batch (a failed record and
the retry from it), a record lost for good. The recount in this module is the contract's, written
from the items as the report and the sweep leave them, not from jobstatus.fleet.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fleet.__main__ import main
from fleet.service import Fleet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.moto import SerializedClient
from jobstatus import layout, lifecycle
from query.api import DEFAULT_REASONS
from tests.support import (
    EVENTS_FUNCTION,
    FLEET_FUNCTION,
    JOB_TABLE,
    PROJECT,
    SWEEP_FUNCTION,
    TEMPLATE,
    add_to_counter,
    deliver,
    deserialize,
    job,
    report,
    scan,
    summary_example,
)
from tests.support.clients import FaultyClient, client_error, recorded
from tests.support.gateway import body_of, event, get_event

pytestmark = pytest.mark.slow(40)

OTHER = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SUBMIT = {"error_type": "JOB_SUBMIT_EXCEPTION", "error_id": "Agent.51000", "error_msg": "submit failed"}
OOM = {"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0002", "error_msg": "OutOfMemoryError"}
FAILED = lifecycle.CATEGORY_STATUSES["failed"]


# --- the oracle: the contract's summary, recounted from the table ------------------------------------


def recount(ddb: Any, project: str, *, silent_after_minutes: int = 30) -> dict[str, Any]:
    """What GET .../job-summary must answer, from a scan of the project's current items."""
    items = {(i["pk"]["S"], i["sk"]["S"]): i for i in scan(ddb, JOB_TABLE)}
    jobs: list[dict[str, Any]] = [
        deserialize(item)
        for (pk, sk), item in items.items()
        if sk == layout.CURRENT_SK and layout.parse_job_pk(pk)[0] == project
    ]
    categories = Counter(dict.fromkeys(lifecycle.CATEGORIES, 0))
    statuses: Counter[str] = Counter()
    reasons: Counter[tuple[str | None, str | None]] = Counter()
    silent = 0
    for current in jobs:
        category = lifecycle.category_of(current["status"])
        categories[category] += 1
        statuses[current["status"]] += 1
        active = category in ("pending", "running", "stopping")
        silent += silent_after_minutes > 0 and active and "silent_since" in current
        if category == "failed":
            exceptions = current.get("exceptions")
            if "exceptions_ref" in current:
                exceptions = deserialize(items[(current["pk"], current["exceptions_ref"])]).get("exceptions")
            found = exceptions if isinstance(exceptions, dict) else {}
            kind, code = found.get("error_type"), found.get("error_id")
            reasons[(kind if isinstance(kind, str) else None, code if isinstance(code, str) else None)] += 1
    ordered = sorted(reasons.items(), key=lambda e: (-e[1], nulls_last(e[0][0]), nulls_last(e[0][1])))
    return {
        "jobs": len(jobs),
        "categories": dict(categories),
        "statuses": dict(sorted(statuses.items())),
        "silent": silent,
        "failure_reasons": [{"error_type": k, "error_id": c, "jobs": n} for (k, c), n in ordered[:DEFAULT_REASONS]],
    }


def nulls_last(value: str | None) -> tuple[bool, str]:
    return value is None, value or ""


# --- the plumbing ----------------------------------------------------------------------------------


@pytest.fixture
def summary(reader) -> Callable[..., dict[str, Any]]:
    """GET .../job-summary of a project (default: PROJECT): its summary, after a 200."""
    read = reader()

    def get(project: str = PROJECT, query: str = "") -> dict[str, Any]:
        response = read(get_event(f"/v1/{project}/edgesrv/job-summary", query))
        assert response["statusCode"] == 200, response["body"]
        body = body_of(response)
        assert (body["is_success"], body["message"]) == (True, "The job summary is successfully queried.")
        return dict(body["summary"])

    return get


@pytest.fixture
def drain(stream, consumer) -> Callable[[], None]:
    """Deliver every new stream record to the events function, as one batch, with no fault."""
    consume = consumer()

    def drain() -> None:
        assert deliver(stream, consume) == {"batchItemFailures": []}

    return drain


def retried(records: list[dict[str, Any]], failures: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The records Lambda delivers again after a partial batch failure: from the first failed one on."""
    if not failures:
        return []
    first = min(int(failure["itemIdentifier"]) for failure in failures)
    return [record for record in records if int(record["dynamodb"]["SequenceNumber"]) >= first]


def summary_items(ddb: Any, project: str = PROJECT) -> list[dict[str, Any]]:
    return [
        i
        for i in scan(ddb, JOB_TABLE)
        if i["sk"]["S"] == layout.SUMMARY_SK and layout.parse_summary_pk(i["pk"]["S"])[0] == project
    ]


# --- what it counts --------------------------------------------------------------------------------


def test_the_contracts_example(reporter, drain, summary, ddb):
    send = reporter()
    jobs = [job(job_id=j, status="job_running") for j in (1, 2, 3, 4)]
    jobs += [job(job_id=5, status="job_finish")]
    jobs += [job(job_id=j, status="job_submit_fail", exceptions=SUBMIT) for j in (6, 7)]
    jobs += [job(job_id=8, status="job_running_exception", exceptions="a string, not DLI's object")]
    jobs += [job(job_id=9, status="job_future"), job(job_id=None, status="job_running")]  # no job_id: not counted
    assert send(event(report(*jobs)))["statusCode"] == 200
    drain()
    assert summary() == summary_example()["summary"]
    assert summary() == recount(ddb, PROJECT)


def test_a_project_without_jobs_has_every_category_at_zero(summary):
    assert summary() == {
        "jobs": 0,
        "categories": dict.fromkeys(lifecycle.CATEGORIES, 0),
        "statuses": {},
        "silent": 0,
        "failure_reasons": [],
    }


def test_jobs_move_into_and_out_of_failed_and_their_reasons_follow(reporter, drain, summary, ddb):
    send = reporter()
    send(event(report(job(job_id=1, status="job_running", create_time=1), job(job_id=2, create_time=1))))
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=2))))
    drain()
    assert [(r["error_type"], r["jobs"]) for r in summary()["failure_reasons"]] == [("JOB_SUBMIT_EXCEPTION", 1)]
    # the same job fails again, for another reason: it moves between reasons, not into two
    send(event(report(job(job_id=1, status="job_running_exception", exceptions=OOM, create_time=3))))
    drain()
    assert summary()["failure_reasons"] == [{"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0002", "jobs": 1}]
    assert summary()["categories"]["failed"] == 1
    # it recovers: out of failed, no reason left
    send(event(report(job(job_id=1, status="job_running", create_time=4))))
    drain()
    assert summary() == recount(ddb, PROJECT)
    assert (summary()["categories"]["failed"], summary()["categories"]["running"]) == (0, 2)
    assert summary()["failure_reasons"] == []
    assert summary()["statuses"] == {"job_running": 2}  # statuses with no job left are not listed


def test_a_failed_jobs_reason_is_read_where_its_large_exceptions_are_kept(reporter, drain, summary, ddb):
    large = {"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0003", "trace": "x" * 40_000}
    reporter()(event(report(job(job_id=1, status="job_running_exception", exceptions=large))))
    drain()
    assert summary()["failure_reasons"] == [{"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0003", "jobs": 1}]
    assert summary() == recount(ddb, PROJECT)


def test_a_heartbeat_of_a_job_with_large_exceptions_reads_and_counts_nothing(reporter, stream, consumer, summary, ddb):
    large = {"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0003", "trace": "x" * 40_000}
    send, consume = reporter(), consumer()
    send(event(report(job(job_id=1, status="job_running_exception", exceptions=large, create_time=1))))
    assert consume(stream.batch()) == {"batchItemFailures": []}
    send(event(report(job(job_id=1, status="job_running_exception", exceptions=large, create_time=2))))
    watched = FaultyClient(recorded(EVENTS_FUNCTION, "dynamodb"))
    assert consumer(dynamodb=watched)(stream.batch()) == {"batchItemFailures": []}
    assert watched.calls == []  # neither image's exceptions read from history, no counter moved
    assert summary()["failure_reasons"] == [{"error_type": "RUNTIME_EXCEPTION", "error_id": "Flink.0003", "jobs": 1}]
    assert summary() == recount(ddb, PROJECT)


def test_reasons_are_ordered_by_jobs_then_error_type_then_error_id_nulls_last_and_limited(reporter, drain, summary):
    reasons = [
        ({"error_type": "B", "error_id": "2"}, 2),
        ({"error_type": "A", "error_id": "9"}, 1),
        ({"error_type": "A"}, 1),
        ({"error_id": "1"}, 1),
        ({"error_type": "A", "error_id": "1"}, 1),
        ({"error_type": 7, "error_id": ["not a string"]}, 1),
    ]
    jobs, job_id = [], 0
    for exceptions, n in reasons:
        for _ in range(n):
            job_id += 1
            jobs.append(job(job_id=job_id, status="job_submit_fail", exceptions=exceptions))
    reporter()(event(report(*jobs)))
    drain()
    listed = [(r["error_type"], r["error_id"], r["jobs"]) for r in summary()["failure_reasons"]]
    assert listed == [("B", "2", 2), ("A", "1", 1), ("A", "9", 1), ("A", None, 1), (None, "1", 1), (None, None, 1)]
    assert [r["error_type"] for r in summary(query="limit=2")["failure_reasons"]] == ["B", "A"]
    assert summary(query="limit=1")["categories"]["failed"] == 7  # the limit cuts the list, not the counts


def test_silent_jobs_are_those_the_silent_listing_gives_once_the_sweep_ran(
    reporter, sweeper, drain, summary, reader, clock, ddb
):
    send = reporter(silent_after_minutes=5)
    send(event(report(job(job_id=1, create_time=1), job(job_id=2, create_time=1), job(job_id=3, status="job_finish"))))
    drain()
    clock.advance(10 * 60)
    assert sweeper(silent_after_minutes=5)({})["marked"] == 2
    drain()
    listed = body_of(reader(5)(get_event(f"/v1/{PROJECT}/edgesrv/jobs", "silent=true")))["jobs"]
    assert summary()["silent"] == len(listed) == 2
    assert summary() == recount(ddb, PROJECT, silent_after_minutes=5)
    # a heartbeat of job 1 ends its silence
    send(event(report(job(job_id=1, create_time=2))))
    drain()
    assert summary()["silent"] == 1
    assert summary() == recount(ddb, PROJECT, silent_after_minutes=5)


def test_projects_are_counted_apart(reporter, drain, summary):
    send = reporter()
    send(event(report(job(job_id=1), job(job_id=2)), project=PROJECT))
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT)), project=OTHER))
    drain()
    assert (summary()["jobs"], summary()["categories"]["running"], summary()["failure_reasons"]) == (2, 2, [])
    other = summary(OTHER)
    assert (other["jobs"], other["categories"]["failed"], other["categories"]["running"]) == (1, 1, 0)


# --- what it costs the counters --------------------------------------------------------------------


def test_heartbeats_replays_and_late_reports_write_nothing_to_the_counters(reporter, stream, consumer, summary, ddb):
    send = reporter()
    send(event(report(job(job_id=1, create_time=5), job(job_id=2, create_time=5))))
    calls = FaultyClient(recorded(EVENTS_FUNCTION, "dynamodb"))
    consume = consumer(dynamodb=calls)
    assert consume(stream.batch()) == {"batchItemFailures": []}
    assert [name for name, _ in calls.calls] == ["transact_write_items"] * 2  # a new job: one transaction each
    before = summary_items(ddb)
    calls.calls.clear()
    beat = report(job(job_id=1, create_time=6), job(job_id=2, create_time=6), message_id="beat")
    send(event(beat))  # heartbeats
    send(event(beat))  # its replay
    send(event(report(job(job_id=1, status="job_finish", create_time=4))))  # a late report: history only
    send(event(report(job(job_id=2, create_time=7, metrics={"records_in": 10}))))  # new content, same status
    batch = stream.batch()
    assert batch["Records"]  # the current items changed, and their records reached the function
    assert consume(batch) == {"batchItemFailures": []}
    assert calls.calls == []  # nothing counted, nothing read
    assert summary_items(ddb) == before


def test_a_change_of_category_is_one_transaction_of_two_updates(reporter, stream, consumer):
    send = reporter()
    send(event(report(job(job_id=1, create_time=1))))
    consumer()(stream.batch())
    calls = FaultyClient(recorded(EVENTS_FUNCTION, "dynamodb"))
    send(event(report(job(job_id=1, status="job_finish", create_time=2))))
    assert consumer(dynamodb=calls)(stream.batch()) == {"batchItemFailures": []}
    ((name, request),) = calls.calls
    assert name == "transact_write_items"
    assert [list(item) for item in request["TransactItems"]] == [["Update"], ["Update"]]


# --- exact, whatever the stream delivers ---------------------------------------------------------


def test_a_batch_delivered_twice_counts_once(reporter, stream, consumer, summary, ddb):
    send = reporter()
    send(event(report(job(job_id=1, create_time=1), job(job_id=2, status="job_submit_fail", exceptions=SUBMIT))))
    send(event(report(job(job_id=1, status="job_finish", create_time=2))))
    batch = stream.batch()
    consume = consumer()
    assert consume(batch) == consume(batch) == {"batchItemFailures": []}
    assert summary() == recount(ddb, PROJECT)
    assert summary()["jobs"] == 2


def test_a_batch_split_by_bisect_counts_once(reporter, stream, consumer, summary, ddb):
    send = reporter()
    for t in range(1, 5):
        send(
            event(report(job(job_id=1, status=("job_running", "job_finish")[t % 2], create_time=t), job(job_id=10 + t)))
        )
    records = stream.batch()["Records"]
    consume = consumer()
    # Lambda's bisect: the first half, then the second, after the whole batch was already (partly) processed
    half = len(records) // 2
    consume({"Records": records})
    consume({"Records": records[:half]})
    consume({"Records": records[half:]})
    consume({"Records": records[half // 2 : half]})
    assert summary() == recount(ddb, PROJECT)


def test_a_crash_mid_batch_fails_the_record_and_the_retry_from_it_counts_each_change_once(
    reporter, stream, consumer, summary, ddb, fleet
):
    send = reporter()
    send(event(report(*[job(job_id=j, create_time=1) for j in (1, 2, 3)])))
    send(event(report(job(job_id=2, status="job_submit_fail", exceptions=SUBMIT, create_time=2))))
    records = stream.batch()["Records"]
    crash = client_error("InternalServerError", "TransactWriteItems", "x")
    # the second change counted (job 2's first status) crashes: it fails, and every record after it
    faulty = FaultyClient(recorded(EVENTS_FUNCTION, "dynamodb"), transact_write_items=[None, crash])
    failures = consumer(dynamodb=faulty)({"Records": records})["batchItemFailures"]
    sequence = [record["dynamodb"]["SequenceNumber"] for record in records]
    assert [failure["itemIdentifier"] for failure in failures] == sequence[-len(failures) :]
    assert fleet().audit(PROJECT, repair=False).drift > 0  # jobs 2 and 3 not counted yet
    # Lambda retries from the first failed record: the records after it are delivered again
    assert consumer()({"Records": retried(records, failures)}) == {"batchItemFailures": []}
    assert summary() == recount(ddb, PROJECT)
    assert fleet().audit(PROJECT, repair=False).drift == 0


def test_a_record_lost_for_good_is_made_right_by_the_jobs_next_change(reporter, stream, consumer, summary, ddb):
    send = reporter()
    send(event(report(job(job_id=1, create_time=1))))
    consumer()(stream.batch())
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=2))))
    stream.batch()  # lost: kept in the on-failure queue, never delivered
    send(event(report(job(job_id=1, status="job_finish", create_time=3))))
    consumer()(stream.batch())  # says failed -> finished; the marker says running, and is believed
    assert summary() == recount(ddb, PROJECT)
    assert summary()["categories"] == dict.fromkeys(lifecycle.CATEGORIES, 0) | {"finished": 1}


# --- trust, but verify: the recount -------------------------------------------------------------------


def test_the_recount_finds_drift_repairs_it_and_finds_none_after(reporter, drain, stream, summary, ddb, fleet):
    send = reporter()
    send(event(report(*[job(job_id=j, create_time=1) for j in range(1, 6)])))
    drain()
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=2))))
    stream.batch()  # a record lost: job 1 still counted running
    # and a counter edited by hand
    add_to_counter(ddb, PROJECT, 3, "c#canceled", 3)
    assert summary() != recount(ddb, PROJECT)
    found = fleet().audit(PROJECT, repair=False)
    assert (found.jobs, found.drift, found.drift_after) == (5, 3 + 5, 3 + 5)  # canceled 3; jobs/c#/s#/r# of job 1
    repaired = fleet().audit(PROJECT, repair=True)
    assert (repaired.drift, repaired.markers_repaired, repaired.drift_after) == (8, 1, 0)
    assert summary() == recount(ddb, PROJECT)
    assert not any("c#canceled" in item for item in summary_items(ddb))  # a counter back at 0 is removed
    assert fleet().audit(PROJECT, repair=False).drift == 0
    # and the job's next change counts from what the repair set
    send(event(report(job(job_id=1, status="job_running", create_time=3))))
    drain()
    assert summary() == recount(ddb, PROJECT)


class ChangesWhileMarkersAreRead:
    """A client on which job 1 finishes just before the recount first reads the markers; with `drain`,
    the stream counts it at once, without, its record stays on the way."""

    def __init__(self, client: Any, send: Callable[..., Any], drain: Callable[[], None] | None) -> None:
        self._client, self._send, self._drain, self.moved = client, send, drain, False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name != "batch_get_item":
            return call

        def batch_get_item(**request: Any) -> Any:
            keys = [k for asked in request["RequestItems"].values() for k in asked["Keys"]]
            if not self.moved and any(k["sk"]["S"] == layout.COUNTED_SK for k in keys):
                self.moved = True
                self._send(event(report(job(job_id=1, status="job_finish", create_time=3))))
                if self._drain is not None:
                    self._drain()
            return call(**request)

        return batch_get_item


def test_a_job_counted_between_the_recounts_two_reads_is_repaired_to_what_it_is_now(
    reporter, drain, stream, summary, ddb, fleet
):
    send = reporter()
    send(event(report(job(job_id=1, create_time=1))))
    drain()
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=2))))
    stream.batch()  # lost: job 1 still counted running, the drift the recount repairs

    client = ChangesWhileMarkersAreRead(recorded(FLEET_FUNCTION, "dynamodb"), send, drain)
    repaired = fleet(dynamodb=client).audit(PROJECT, repair=True)
    assert client.moved
    assert repaired.drift_after == 0
    assert summary() == recount(ddb, PROJECT)
    # and the marker says what the counters say: the job's next change counts from it
    send(event(report(job(job_id=1, status="job_running", create_time=4))))
    drain()
    assert summary() == recount(ddb, PROJECT)
    assert fleet().audit(PROJECT, repair=False).drift == 0


def test_what_the_markers_do_not_explain_is_added_only_if_it_holds_still(reporter, drain, stream, summary, ddb, fleet):
    send = reporter()
    send(event(report(job(job_id=1, create_time=1))))
    drain()
    add_to_counter(ddb, PROJECT, 1, "c#canceled", 2)  # drift no marker explains: held still, repaired
    # job 1 finishes as the recount reads the markers, and its record is on its way until the pause
    client = ChangesWhileMarkersAreRead(recorded(FLEET_FUNCTION, "dynamodb"), send, None)
    repaired = fleet(dynamodb=client, sleep=lambda s: drain()).audit(PROJECT, repair=True)
    assert client.moved
    assert (repaired.markers_repaired, repaired.counters_repaired, repaired.drift_after) == (0, 1, 0)
    assert summary() == recount(ddb, PROJECT)  # job 1 counted once, by its record


def test_a_reason_counter_repaired_by_the_recount_carries_its_strings(reporter, drain, summary, ddb, fleet):
    send = reporter()
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=1))))
    drain()
    # a hand edit removes the reason's counter and its strings: the markers still agree with the jobs
    shard = layout.summary_key(layout.summary_pk(PROJECT, layout.category_shard(1)))
    held = ddb.get_item(TableName=JOB_TABLE, Key=shard)["Item"]
    reason = [name for name in held if name.startswith(("r#", "n#"))]
    ddb.update_item(
        TableName=JOB_TABLE,
        Key=shard,
        UpdateExpression="REMOVE " + ", ".join(f"#a{i}" for i in range(len(reason))),
        ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(reason)},
    )
    assert summary()["failure_reasons"] == []  # listed only with its strings, never a 500
    repaired = fleet().audit(PROJECT, repair=True)
    assert (repaired.drift, repaired.markers_repaired, repaired.counters_repaired, repaired.drift_after) == (1, 0, 1, 0)
    assert summary() == recount(ddb, PROJECT)
    submit = {"error_type": "JOB_SUBMIT_EXCEPTION", "error_id": "Agent.51000", "jobs": 1}
    assert summary()["failure_reasons"] == [submit]


def test_the_recount_removes_counters_at_zero_where_nothing_drifted(reporter, drain, summary, ddb, fleet):
    send = reporter()
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=SUBMIT, create_time=1))))
    drain()
    send(event(report(job(job_id=1, status="job_running", create_time=2))))
    drain()
    # 250 more counters at zero, as reasons seen once over months leave them: more than one update's
    # expression may name within DynamoDB's 4 KB
    for i in range(250):
        add_to_counter(ddb, PROJECT, 1, f"r#{i:016x}", 0)
    assert fleet().audit(PROJECT, repair=False).drift == 0
    client = FaultyClient(recorded(FLEET_FUNCTION, "dynamodb"))
    assert fleet(dynamodb=client).audit(PROJECT, repair=True).drift_after == 0
    expressions = [r[key] for _, r in client.calls for key in ("UpdateExpression", "ConditionExpression") if key in r]
    assert len(expressions) == 2 * 11  # 253 counters at zero (250, and the failed job's three), 25 an update
    assert max(map(len, expressions)) < 4096  # DynamoDB's limit; moto has none
    (item,) = summary_items(ddb)
    assert not [name for name in item if name.startswith(("r#", "n#", "s#job_submit_fail", "c#failed"))]
    assert summary() == recount(ddb, PROJECT)


def test_a_reason_is_counted_by_the_first_256_characters_of_its_strings(reporter, drain, summary, ddb, fleet):
    # an error_type of 40,000 characters (exceptions over 32 KB are kept in the history item only)
    long = {"error_type": "E" * 40_000, "error_id": "\u4e2d" * 300}
    send = reporter()
    send(event(report(job(job_id=1, status="job_submit_fail", exceptions=long, create_time=1))))
    drain()
    assert summary()["failure_reasons"] == [{"error_type": "E" * 256, "error_id": "\u4e2d" * 256, "jobs": 1}]
    assert fleet().audit(PROJECT, repair=False).drift == 0


def test_the_daily_run_recounts_every_project_and_the_command_says_drift_by_exit_code(
    reporter, drain, stream, ddb, fleet_handler, monkeypatch, capsys
):
    send = reporter()
    send(event(report(job(job_id=1)), project=PROJECT))
    send(event(report(job(job_id=1)), project=OTHER))
    drain()
    send(event(report(job(job_id=2)), project=OTHER))
    stream.batch()  # lost
    monkeypatch.setattr("fleet.wiring.aws.client", lambda *a, **k: recorded(FLEET_FUNCTION, "dynamodb"))
    assert main(["audit", "--table", JOB_TABLE, "--settle", "0"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = [line for line in lines if "drift" in line]  # (the logs of the handlers that ran before share stdout)
    assert {(line["project_id"], line["drift"]) for line in lines} == {(PROJECT, 0), (OTHER, 3)}
    assert fleet_handler({"task": "audit"}) == {"projects": 2, "drift": 3}  # and repaired
    assert main(["audit", "--project", OTHER, "--table", JOB_TABLE, "--settle", "0"]) == 0


def test_a_project_whose_audit_fails_leaves_the_others_audited_and_the_run_failed(
    reporter, drain, stream, fleet_handler, monkeypatch
):
    send = reporter()
    send(event(report(job(job_id=1)), project=PROJECT))
    send(event(report(job(job_id=1)), project=OTHER))
    drain()
    send(event(report(job(job_id=2)), project=PROJECT))
    stream.batch()  # lost: PROJECT drifted
    audit = Fleet.audit
    audited: list[str] = []

    def failing(self: Fleet, project_id: str, *, repair: bool) -> Any:
        audited.append(project_id)
        if project_id == OTHER:
            raise client_error("ValidationException", "UpdateItem", "refused")
        return audit(self, project_id, repair=repair)

    monkeypatch.setattr(Fleet, "audit", failing)
    with pytest.raises(RuntimeError, match="failed for 1 of 2 projects"):
        fleet_handler({"task": "audit"})
    assert audited == [OTHER, PROJECT]  # the project after the failed one was audited all the same
    monkeypatch.setattr(Fleet, "audit", audit)
    assert fleet_handler({"task": "audit"}) == {"projects": 2, "drift": 0}  # PROJECT was repaired the first time


def test_the_fleet_metrics_match_the_summaries_and_the_dashboard(
    reporter, drain, ddb, fleet_handler, capsys, monkeypatch
):
    send = reporter()
    send(event(report(job(job_id=1), job(job_id=2, status="job_submit_fail", exceptions=SUBMIT)), project=PROJECT))
    send(event(report(job(job_id=1), job(job_id=2, status="job_finish")), project=OTHER))
    drain()
    capsys.readouterr()
    service = TEMPLATE.function(FLEET_FUNCTION).environment["POWERTOOLS_SERVICE_NAME"]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)  # as Lambda sets it from the template
    assert fleet_handler({"task": "metrics"}) == {"projects": 2}
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for blob in blobs:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            (dimensions,) = directive["Dimensions"]
            assert blob["service"] == "edge-fleet"  # Powertools adds the function's service to every metric
            named = tuple(sorted((d, blob[d]) for d in dimensions if d != "service"))
            gauges |= {(m["Name"], named): blob[m["Name"]][0] for m in directive["Metrics"]}
    assert gauges[("FleetJobs", (("category", "running"),))] == 2
    assert gauges[("FleetJobs", (("category", "failed"),))] == 1
    assert gauges[("FleetJobs", (("category", "finished"),))] == 1
    assert gauges[("FleetSilentJobs", ())] == 0
    assert gauges[("FleetFailedJobs", (("reason", "JOB_SUBMIT_EXCEPTION/Agent.51000"),))] == 1
    assert not any("project_id" in dict(dims) for _, dims in gauges)  # PerProjectMetrics is off by default
    # the dashboard asks for exactly these dimensions
    body = TEMPLATE.document["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert '"FleetJobs", "category", "pending", "service", "edge-fleet"' in body
    assert "{${MetricsNamespace},reason,service}" in body


# --- the route's refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("limit=", "limit"), ("top=3", "top")],
)
def test_a_bad_limit_or_an_unknown_parameter_is_a_400_naming_it(reader, query, named):
    response = reader()(get_event(f"/v1/{PROJECT}/edgesrv/job-summary", query))
    body = body_of(response)
    assert response["statusCode"] == 400
    assert body["is_success"] is False
    assert body["error_code"] == "DLI.0001"
    assert named in body["message"]


# --- exact after any history: hypothesis ----------------------------------------------------------

STATUSES = ["job_running", "job_finish", "job_submit_fail", "job_running_exception", "job_future"]
EXCEPTIONS = [None, SUBMIT, OOM, {"error_type": "RUNTIME_EXCEPTION"}, "a string"]
reports = st.lists(
    st.tuples(st.integers(1, 3), st.sampled_from(STATUSES), st.integers(1, 6), st.sampled_from(EXCEPTIONS)),
    min_size=1,
    max_size=3,
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("report"), reports),
        st.tuples(st.just("replay"), st.integers(0, 20)),
        st.tuples(st.just("sweep"), st.just(None)),
        st.tuples(
            st.just("deliver"), st.sampled_from(["plain", "twice", "bisect", "crash", "fail-all", "reverse-retry"])
        ),
    ),
    min_size=1,
    max_size=12,
)
PROJECTS = iter(f"{n:032x}" for n in range(1, 10**6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, crash_at=st.integers(0, 4))
def test_after_any_history_of_reports_and_stream_faults_every_count_equals_a_recount(
    reporter, sweeper, stream, consumer, reader, clock, ddb, fleet, history, crash_at
):
    project = next(PROJECTS)  # each example its own project: moto's table is shared by the examples
    send = reporter(silent_after_minutes=5)
    sent: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # records read from the stream, not yet counted

    def consume(records: list[dict[str, Any]], faults: list[Any] | None = None) -> list[dict[str, Any]]:
        """Deliver records; those Lambda would retry (from the first failed one on)."""
        client = FaultyClient(recorded(EVENTS_FUNCTION, "dynamodb"), transact_write_items=list(faults or []))
        try:
            failures = consumer(silent_after_minutes=5, dynamodb=client)({"Records": records})["batchItemFailures"]
        except Exception:  # every record failed: the whole batch is retried  # noqa: BLE001
            return records
        return retried(records, failures)

    crash = client_error("InternalServerError", "TransactWriteItems", "x")
    # the sweep's writes one at a time, as the report's are (tests/integration/conftest.py: reporter)
    sweeps = SerializedClient(recorded(SWEEP_FUNCTION, "dynamodb"))
    for kind, arg in history:
        if kind == "report":
            body = report(*[job(job_id=j, status=s, create_time=t, exceptions=e) for j, s, t, e in arg])
            sent.append(body)
            send(event(body, project=project))
        elif kind == "replay" and sent:
            send(event(sent[arg % len(sent)], project=project))
        elif kind == "sweep":
            clock.advance(6 * 60)
            sweeper(silent_after_minutes=5, client=sweeps)({})
        elif kind == "deliver":
            pending += stream.batch()["Records"]
            records, pending = pending, []
            if arg == "twice":
                consume(records)
                left = consume(records)
            elif arg == "bisect":
                half = len(records) // 2
                consume(records)
                consume(records[:half])
                left = consume(records[half:])
            elif arg == "crash":
                left = consume(records, [None] * crash_at + [crash])
            elif arg == "fail-all":
                left = consume(records, [crash] * len(records))
            elif arg == "reverse-retry":  # the second half first, then the retried whole
                consume(records[len(records) // 2 :])
                left = consume(records)
            else:
                left = consume(records)
            pending = left
    # the stream drained, retries and all
    pending += stream.batch()["Records"]
    for _ in range(3):
        pending = consume(pending) if pending else []
    assert pending == []
    answer = body_of(reader(5)(get_event(f"/v1/{project}/edgesrv/job-summary")))["summary"]
    assert answer == recount(ddb, project, silent_after_minutes=5)
    assert fleet(5).audit(project, repair=False).drift == 0
