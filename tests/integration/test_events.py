"""The events, end to end under moto: report or sweep -> the table's stream -> JobEventsFunction -> EventBridge.

Each test drives the real handlers (report, sweep, events) with the template's environment, reads
the stream through the template's filter criteria, and observes the bus through a rule with an
SQS target, as an operator would.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devkit.capacity import Meter
from tests.support import PROJECT, RUN, TEMPLATE, deliver, job, load_event, report, seed_body
from tests.support.clients import FaultyClient, IndexedSilence, client_error, silence_entry
from tests.support.gateway import event

pytestmark = pytest.mark.slow(25)


def details(received: list[dict[str, Any]], kind: str | None = None) -> list[dict[str, Any]]:
    return [e["detail"] for e in received if kind is None or e["detail-type"] == kind]


# --- status changes --------------------------------------------------------------------------------


def test_the_seed_example_publishes_one_status_change_with_its_exceptions(reporter, stream, bus, consumer):
    assert reporter()(load_event("report/seed.json"))["statusCode"] == 200
    assert deliver(stream, consumer()) == {"batchItemFailures": []}
    (published,) = bus.received()
    assert (published["source"], published["detail-type"]) == ("edgesrv.jobs", "Job Status Changed")
    detail = published["detail"]
    assert {k: detail[k] for k in ("project_id", "job_id", "status", "category", "message_id")} == {
        "project_id": PROJECT,
        "job_id": 99270,
        "status": "job_submit_fail",
        "category": "failed",
        "message_id": "uuid",
    }
    assert (detail["previous_status"], detail["previous_category"]) == (None, None)
    assert detail["exceptions"] == seed_body()["jobs"][0]["exceptions"]
    assert detail["create_time"] == 1591104868201
    assert isinstance(detail["reported_at"], int)
    assert stream.skipped >= 1  # the history put never reached the function


def test_a_later_status_names_the_previous_one(reporter, stream, bus, consumer):
    send = reporter()
    send(load_event("report/seed.json"))
    send(event(report(job(job_id=99270, status="job_running", create_time=1591104999999))))
    deliver(stream, consumer())
    changed = details(bus.received(), "Job Status Changed")
    assert [(d["status"], d["previous_status"], d["previous_category"]) for d in changed] == [
        ("job_submit_fail", None, None),
        ("job_running", "job_submit_fail", "failed"),
    ]


@pytest.mark.parametrize(
    "second",
    [
        load_event("report/seed-replay.json"),  # a replay
        event(report(job(job_id=99270, status="job_submit_fail", create_time=1591104999999))),  # a heartbeat
        event(report(job(job_id=99270, status="job_running", create_time=1))),  # older, out of order
    ],
    ids=["replay", "heartbeat", "older report"],
)
def test_heartbeats_replays_and_older_reports_publish_nothing(reporter, stream, bus, consumer, events_client, second):
    send = reporter()
    send(load_event("report/seed.json"))
    deliver(stream, consumer())
    assert len(bus.received()) == 1
    counting = FaultyClient(events_client)
    assert send(second)["statusCode"] == 200
    assert deliver(stream, consumer(events=counting)) == {"batchItemFailures": []}
    assert bus.received() == []
    assert [name for name, _ in counting.calls] == []  # not even a PutEvents call


def test_a_redelivered_batch_publishes_the_same_event_ids(reporter, stream, bus, consumer):
    send = reporter()
    send(event(report(*[job(job_id=j, status="job_running") for j in range(1, 6)])))
    batch = stream.batch()
    consume = consumer()
    consume(batch)
    first = sorted(d["event_id"] for d in details(bus.received()))
    consume(batch)  # Lambda retries, or a shard is read twice
    assert sorted(d["event_id"] for d in details(bus.received())) == first
    assert len(set(first)) == 5


# --- delivery failures -------------------------------------------------------------------------------


def fail_entries(*failing: int) -> Any:
    """A put_events that sends the call but reports the entries at these positions as failed."""

    def fault(real: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        entries = kwargs["Entries"]
        kept = [e for i, e in enumerate(entries) if i not in failing]
        sent = real(Entries=kept)["Entries"] if kept else []
        results = iter(sent)
        answer = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "x"} if i in failing else next(results)
            for i in range(len(entries))
        ]
        return {"FailedEntryCount": len(failing), "Entries": answer}

    return fault


def test_failed_entries_are_retried_alone_and_nothing_is_published_twice(
    reporter, stream, bus, consumer, events_client
):
    reporter()(event(report(*[job(job_id=j, status="job_running") for j in range(1, 13)])))
    # the first call fails two entries; the second (the batch's last two) goes through; the retry of
    # the two fails one of them again
    faulty = FaultyClient(events_client, put_events=[fail_entries(2, 7), None, fail_entries(0)])
    assert deliver(stream, consumer(events=faulty)) == {"batchItemFailures": []}
    sizes = [len(kwargs["Entries"]) for name, kwargs in faulty.calls if name == "put_events"]
    assert sizes == [10, 2, 2, 1]  # 12 in two calls; then only the two that failed; then the one that failed again
    received = Counter(d["event_id"] for d in details(bus.received()))
    assert len(received) == 12
    assert set(received.values()) == {1}
    RUN["faults"].add("PutEvents fails some entries")


def test_an_event_that_cannot_be_delivered_fails_its_record_and_every_later_one(
    reporter, stream, bus, consumer, events_client
):
    send = reporter()
    for j in range(1, 5):  # four records, one job each
        send(event(report(job(job_id=j, status="job_running"))))
    # the third job's event fails on every attempt
    faulty = FaultyClient(events_client, put_events=[fail_entries(2), *[fail_entries(0)] * 9])
    batch = stream.batch()
    response = consumer(events=faulty)(batch)
    sequence = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"]]
    # (moto streams a keys-only image before each new item's first one: find job 3's real record)
    third = next(
        i
        for i, r in enumerate(batch["Records"])
        if r["dynamodb"]["Keys"]["pk"]["S"].endswith("#JOB#3") and "status" in r["dynamodb"]["NewImage"]
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence[third:]]}
    published = {d["job_id"] for d in details(bus.received())}
    assert published == {1, 2, 4}  # job 4's event was already sent in the same call: a retry repeats it, same id
    # Lambda retries from the first failed record: this time it goes through, and nothing is lost
    retried = {"Records": batch["Records"][third:]}
    assert consumer()(retried) == {"batchItemFailures": []}
    assert {d["job_id"] for d in details(bus.received())} == {3, 4}
    RUN["faults"].add("PutEvents fails an entry on every attempt")


def full_records(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The records that carry a status (moto streams a keys-only image before a new item's first one)."""
    return [r for r in batch["Records"] if "status" in r["dynamodb"].get("NewImage", {})]


def test_a_record_that_cannot_be_read_fails_with_everything_after_it(reporter, stream, consumer, bus):
    send = reporter()
    for j in (1, 2, 3):
        send(event(report(job(job_id=j, status="job_running"))))
    first, second, third = full_records(stream.batch())
    broken = dict(second) | {
        "dynamodb": dict(second["dynamodb"]) | {"NewImage": {"pk": {"S": "no job key"}, "status": {"S": "x"}}}
    }
    response = consumer()({"Records": [first, broken, third]})
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [second["dynamodb"]["SequenceNumber"], third["dynamodb"]["SequenceNumber"]]
    assert [d["job_id"] for d in details(bus.received())] == [1]


def test_a_batch_in_which_every_record_fails_is_a_function_error(reporter, stream, consumer, bus):
    reporter()(event(report(job(job_id=1, status="job_running"))))
    (record,) = full_records(stream.batch())
    broken = dict(record) | {
        "dynamodb": dict(record["dynamodb"]) | {"NewImage": {"pk": {"S": "no job key"}, "status": {"S": "x"}}}
    }
    # Powertools raises: Lambda then retries and bisects the batch, and the errors alarm fires
    with pytest.raises(BatchProcessingError):
        consumer()({"Records": [broken]})
    assert bus.received() == []


def test_a_put_events_call_that_fails_outright_is_retried(reporter, stream, bus, consumer, events_client):
    reporter()(event(report(job(job_id=1, status="job_running"))))
    throttled = client_error("ThrottlingException", "PutEvents", "slow")
    assert deliver(stream, consumer(events=FaultyClient(events_client, put_events=[throttled, throttled]))) == {
        "batchItemFailures": []
    }
    assert len(bus.received()) == 1
    RUN["faults"].add("throttling on PutEvents")


# --- silence -----------------------------------------------------------------------------------------


def test_one_went_silent_per_silence_then_resumed_and_never_for_an_inactive_job(
    reporter, sweeper, stream, bus, consumer, clock
):
    send, sweep, consume = reporter(1), sweeper(1), consumer(1)
    send(
        event(
            report(
                job(job_id=1, status="job_running"),
                job(job_id=2, status="job_finish"),
                job(job_id=3, status="job_submit_fail"),
            )
        )
    )
    deliver(stream, consume)
    assert len(bus.received()) == 3  # their first statuses
    clock.advance(60)
    assert sweep({})["marked"] == 0  # exactly the threshold: not yet "longer than"
    clock.advance(1)
    assert sweep({})["marked"] == 1
    deliver(stream, consume)
    (silent,) = bus.received()
    assert silent["detail-type"] == "Job Went Silent"
    assert (silent["detail"]["job_id"], silent["detail"]["status"], silent["detail"]["category"]) == (
        1,
        "job_running",
        "running",
    )
    assert silent["detail"]["silent_since"] == silent["detail"]["reported_at"] + 60_000
    for _ in range(3):  # later runs find nothing more: once per silence
        clock.advance(60)
        assert sweep({})["marked"] == 0
    deliver(stream, consume)
    assert bus.received() == []
    send(event(report(job(job_id=1, status="job_running", create_time=1_800_000_000_000))))  # a heartbeat
    deliver(stream, consume)
    (resumed,) = bus.received()
    assert resumed["detail-type"] == "Job Resumed"
    assert resumed["detail"]["silent_since"] == silent["detail"]["silent_since"]
    clock.advance(61)  # and it can go silent again, once
    assert sweep({})["marked"] == 1


def test_a_resumed_job_that_changed_status_publishes_both(reporter, sweeper, stream, bus, consumer, clock):
    send, consume = reporter(1), consumer(1)
    send(event(report(job(job_id=1, status="job_running", create_time=1))))
    clock.advance(61)
    sweeper(1)({})
    deliver(stream, consume)
    bus.received()
    send(event(report(job(job_id=1, status="job_canceling", create_time=2))))
    deliver(stream, consume)
    assert [e["detail-type"] for e in bus.received()] == ["Job Resumed", "Job Status Changed"]


def test_no_silence_events_when_silence_is_off(reporter, sweeper, stream, bus, consumer, clock):
    reporter(0)(event(report(job(job_id=1, status="job_running"))))
    clock.advance(86_400)
    assert sweeper(0)({})["candidates"] == 0
    deliver(stream, consumer(0))
    assert [e["detail-type"] for e in bus.received()] == ["Job Status Changed"]


def test_a_report_between_the_sweeps_read_and_its_mark_wins(reporter, sweeper, stream, bus, consumer, clock, ddb):
    send = reporter(1)
    send(event(report(job(job_id=1, status="job_running", create_time=1))))
    clock.advance(61)

    def report_first(real: Any, kwargs: dict[str, Any]) -> Any:
        send(event(report(job(job_id=1, status="job_running", create_time=2))))  # arrives just before the mark
        return real(**kwargs)

    racing = FaultyClient(ddb, update_item=[report_first])
    result = sweeper(1, client=racing)({})
    assert (result["marked"], result["lost_races"]) == (0, 1)
    deliver(stream, consumer(1))
    assert "Job Went Silent" not in [e["detail-type"] for e in bus.received()]


def test_keys_dynamodb_keeps_leaving_unprocessed_are_the_next_runs_not_a_busy_loop(reporter, sweeper, clock, ddb):
    send = reporter(1)
    send(event(report(job(job_id=1, status="job_running", create_time=1))))
    clock.advance(61)

    def nothing_processed(real: Any, kwargs: dict[str, Any]) -> Any:
        return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}

    stingy = FaultyClient(ddb, batch_get_item=[nothing_processed] * 50)
    result = sweeper(1, client=stingy)({})
    assert (result["marked"], result["left_for_next_run"]) == (0, 1)
    assert [name for name, _ in stingy.calls].count("batch_get_item") == 6  # bounded, with backoff between
    assert sweeper(1)({})["marked"] == 1  # still in the index: the next run marks it


def sweep_read_units(reporter: Any, sweeper: Any, clock: Any, ddb: Any, project: str, active: int) -> tuple[float, int]:
    """Read units and marks of one sweep run over `active` jobs of a project reporting now, and 10 gone quiet."""
    send = reporter(30)
    start = clock.now
    send(event(report(*[job(job_id=j, status="job_running") for j in range(1, 11)]), project=project))  # to go quiet
    clock.advance(31 * 60)
    now_ms = int(clock.now * 1000)
    send(
        event(report(*[job(job_id=j, status="job_running") for j in range(11, 36)]), project=project)
    )  # through the report path
    recent = [silence_entry(project, j, now_ms, 30) for j in range(36, active + 1)]  # the rest of the fleet, reporting
    meter = Meter(IndexedSilence(ddb, recent), TEMPLATE)
    result = sweeper(30, client=meter)({})
    clock.now = start
    return sum(meter.reads.values()), result["marked"]


def test_a_sweeps_read_units_grow_with_the_jobs_going_silent_not_with_the_fleet(reporter, sweeper, clock, ddb):
    small_units, small_marked = sweep_read_units(reporter, sweeper, clock, ddb, "small", 1_000)
    large_units, large_marked = sweep_read_units(reporter, sweeper, clock, ddb, "large", 100_000)
    assert (small_marked, large_marked) == (10, 10)
    assert large_units <= 1.1 * small_units
