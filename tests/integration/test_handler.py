"""The report handler end to end under moto: what a stored report leaves in the tables, replays, projects kept
apart, order independence, and requests that interleave. (How it refuses: test_refusals.py.)"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from devkit.moto import SerializedClient
from jobstatus import layout
from jobstatus.lifecycle import status_rank
from tests.support import (
    JOB_TABLE,
    LEDGER_TABLE,
    PROJECT,
    RUN,
    SUCCESS,
    account,
    current,
    deserialize,
    everything,
    job,
    load_event,
    report,
    scan,
    seed_body,
)
from tests.support.clients import FaultyClient
from tests.support.gateway import body_of, event, headers_of

pytestmark = pytest.mark.slow(25)


def history(ddb: Any) -> list[dict[str, Any]]:
    return [deserialize(i) for i in scan(ddb, JOB_TABLE) if i["sk"]["S"] != layout.CURRENT_SK]


# --- the seed example -----------------------------------------------------------------------


def test_seed_example_is_stored_with_its_exceptions_object_intact(handler, ddb):
    # Given the seed example, verbatim
    seed = seed_body()
    # When it is reported
    response = handler(load_event("report/seed.json"))
    # Then the answer is the contract's success envelope with a JSON boolean
    assert response["statusCode"] == 200
    assert body_of(response) == SUCCESS
    # And the history item holds the exceptions object without loss
    (item,) = history(ddb)
    assert item["exceptions"] == seed["jobs"][0]["exceptions"]
    assert (item["job_id"], item["status"], item["create_time"]) == (99270, "job_submit_fail", 1591104868201)
    assert item["message_id"] == "uuid"
    # And the ledger holds the message_id, the current item the status
    (ledger,) = [deserialize(i) for i in scan(ddb, LEDGER_TABLE)]
    assert ledger["pk"] == layout.ledger_pk(PROJECT, "uuid")
    assert (ledger["message_id"], ledger["project_id"]) == ("uuid", PROJECT)
    assert ledger["msg_confirm_topic"] == "hw/events/messages/dli/message/confirm"
    assert current(ddb, 99270)["status"] == "job_submit_fail"


# --- idempotency ----------------------------------------------------------------------------


def test_replay_gets_the_same_200_and_writes_nothing_new(handler, ddb):
    first = handler(load_event("report/seed.json"))
    stored = everything(ddb)
    # When the same report is retried
    again = handler(load_event("report/seed-replay.json"))
    # Then the response is the same, marked as a replay, and the tables are unchanged
    assert again["statusCode"] == 200
    assert again["body"] == first["body"]
    assert headers_of(again)["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in headers_of(first)
    assert everything(ddb) == stored


def test_replay_with_reordered_keys_and_string_job_id_is_the_same_payload(handler, ddb):
    body = report(job(job_id=7, metrics={"a": 1, "b": [1.5, 2]}), message_id="m-canon")
    assert handler(event(body))["statusCode"] == 200
    stored = everything(ddb)
    reordered = {
        "message_id": "m-canon",
        "jobs": [
            {
                "metrics": {"b": [1.50, 2.0], "a": 1},
                "create_time": "1700000000000",
                "status": "job_running",
                "job_id": "7",
            }
        ],
    }
    response = handler(event(reordered))
    assert response["statusCode"] == 200
    assert headers_of(response)["idempotent-replayed"] == "true"
    assert everything(ddb) == stored


def test_project_b_cannot_touch_project_a_even_with_colliding_message_id_and_job_id(handler, ddb):
    # Given project A stored a report
    body = report(job(job_id=5, status="job_running", create_time=1), message_id="shared")
    assert handler(event(body, project="projecta"))["statusCode"] == 200
    project_a = [i for i in scan(ddb, JOB_TABLE) + scan(ddb, LEDGER_TABLE) if i["pk"]["S"].startswith("projecta#")]
    # When project B reuses the message_id and job_id with a newer, different payload
    other = report(job(job_id=5, status="job_finish", create_time=2, plan="b"), message_id="shared")
    response = handler(event(other, project="projectb"))
    # Then B is not told of A's message (no 422), and A's items are exactly as they were
    assert response["statusCode"] == 200
    assert "idempotent-replayed" not in headers_of(response)
    after = [i for i in scan(ddb, JOB_TABLE) + scan(ddb, LEDGER_TABLE) if i["pk"]["S"].startswith("projecta#")]
    assert after == project_a
    assert current(ddb, 5, "projecta")["status"] == "job_running"
    assert current(ddb, 5, "projectb")["status"] == "job_finish"


def test_body_project_id_changes_nothing(handler, ddb):
    # Given a body that names another project
    body = report(job(job_id=3), project_id="victim")
    # When it is sent on the attacker's path
    assert handler(event(body, project="attacker"))["statusCode"] == 200
    # Then every item is under the path's project, and the field is kept only as an extra
    items = scan(ddb, JOB_TABLE) + scan(ddb, LEDGER_TABLE)
    assert items
    assert all(item["pk"]["S"].startswith("attacker#") for item in items)
    (ledger,) = [deserialize(i) for i in scan(ddb, LEDGER_TABLE)]
    assert ledger["extra"] == {"project_id": "victim"}


# --- order independence ---------------------------------------------------------------------


def test_late_older_status_does_not_replace_newer_one(handler, ddb):
    assert handler(load_event("report/out-of-order-newer.json"))["statusCode"] == 200
    assert handler(load_event("report/out-of-order-older.json"))["statusCode"] == 200
    assert current(ddb, 99271)["status"] == "job_finish"
    assert len(history(ddb)) == 2  # both statuses are kept in the history


def test_newer_status_replaces_older_one(handler, ddb):
    handler(load_event("report/out-of-order-older.json"))
    handler(load_event("report/out-of-order-newer.json"))
    assert current(ddb, 99271)["status"] == "job_finish"
    assert current(ddb, 99271)["message_id"] == "ooo-2"


@pytest.mark.parametrize("order", [("job_running", "job_finish"), ("job_finish", "job_running")])
def test_tie_on_create_time_goes_to_the_terminal_status(handler, ddb, order):
    for status in order:
        handler(event(report(job(job_id=9, status=status, create_time=1000))))
    assert current(ddb, 9)["status"] == "job_finish"


def test_tie_between_unknown_statuses_is_alphabetical(handler, ddb):
    for status in ("zz_new_status", "aa_new_status"):
        handler(event(report(job(job_id=10, status=status, create_time=1000))))
    assert current(ddb, 10)["status"] == "zz_new_status"
    assert status_rank("zz_new_status") > status_rank("aa_new_status")


def test_only_the_newest_status_of_a_job_in_one_report_updates_current(handler, ddb):
    body = report(
        job(job_id=4, status="job_finish", create_time=30), job(job_id=4, status="job_running", create_time=20)
    )
    assert handler(event(body))["statusCode"] == 200
    assert current(ddb, 4)["create_time"] == 30
    assert len(history(ddb)) == 2


# --- requests that interleave ---------------------------------------------------------------
# A second request runs to its end at a chosen point of the first one's writes: the outcome is decided
# by DynamoDB's conditional writes, never by what a request read before. (moto applies a call
# atomically, as DynamoDB does, only one call at a time: its server in the local stack runs them so,
# and here a SerializedClient does; a reader could otherwise see an item moto is still writing.
# Racing many requests at once against it proves no more than these.)

POINTS = {
    "before its ledger write": ("update_item", 0),  # a report's first update_item is the ledger's claim
    "after it, before its data": ("batch_write_item", 0),  # phase 2: the history items
}


class Interleaved:
    """A client for the first request that runs `second()` to its end just before its call at `point`;
    `second` keeps the second request's answer."""

    def __init__(self, ddb: Any, point: tuple[str, int], second: Any) -> None:
        operation, index = point
        self.second: dict[str, Any] = {}

        def second_first(real: Any, request: dict[str, Any]) -> Any:
            self.second = second()
            return real(**request)

        self.client = FaultyClient(ddb, **{operation: [None] * index + [second_first]})


def keys(ddb: Any, project: str) -> list[tuple[str, str]]:
    """Every item's keys under a project, without the project, to compare two projects."""
    found = [i for i in scan(ddb, JOB_TABLE) + scan(ddb, LEDGER_TABLE) if i["pk"]["S"].startswith(f"{project}#")]
    return sorted((i["pk"]["S"].removeprefix(project), i.get("sk", {}).get("S", "")) for i in found)


@pytest.mark.parametrize("point", POINTS.values(), ids=POINTS.keys())
def test_the_same_report_arriving_while_it_is_being_stored_is_a_replay_and_stores_it_once(reporter, ddb, point):
    body = report(job(job_id=1), job(job_id=2, status="job_finish"), job(job_id=None), message_id="same")
    assert reporter()(event(body, project="alone"))["statusCode"] == 200
    one_at_a_time = SerializedClient(ddb)  # moto in process applies a call atomically only alone
    race = Interleaved(one_at_a_time, point, lambda: reporter(client=one_at_a_time)(event(body, project="twice")))
    first = reporter(client=race.client)(event(body, project="twice"))
    # Both are stored answers, and exactly one of them is the replay of the other
    assert (first["statusCode"], race.second["statusCode"]) == (200, 200)
    assert first["body"] == race.second["body"]
    assert sorted(headers_of(r).get("idempotent-replayed", "") for r in (first, race.second)) == ["", "true"]
    # And the tables hold what one report alone stores
    account(keys(ddb, "alone"), keys(ddb, "twice"))
    assert keys(ddb, "twice") == keys(ddb, "alone")
    RUN["concurrent"] += 2


@pytest.mark.parametrize("point", POINTS.values(), ids=POINTS.keys())
def test_two_payloads_racing_for_one_message_id_have_one_winner_and_the_other_writes_nothing(reporter, ddb, point):
    ours, theirs = report(job(job_id=100), message_id="contested"), report(job(job_id=200), message_id="contested")
    one_at_a_time = SerializedClient(ddb)
    race = Interleaved(one_at_a_time, point, lambda: reporter(client=one_at_a_time)(event(theirs, project="contest")))
    first = reporter(client=race.client)(event(ours, project="contest"))
    # The first to claim the message_id wins: the second one if it got in before our claim, else ours
    second_won = point == POINTS["before its ledger write"]
    winner, loser = (race.second, first) if second_won else (first, race.second)
    assert (winner["statusCode"], loser["statusCode"]) == (200, 422)
    assert body_of(loser)["error_code"] == "DLI.0006"
    stored = {i["pk"]["S"] for i in scan(ddb, JOB_TABLE)}
    assert stored == {layout.job_pk("contest", 200 if second_won else 100)}  # the loser's job: nowhere
    RUN["concurrent"] += 2


@pytest.mark.parametrize("held", ["older", "newer"])
def test_whichever_current_update_lands_last_the_newest_status_stays(reporter, ddb, held):
    # One report's current-item update (its second update_item) waits while the other report is stored
    older = report(job(job_id=42, status="job_running", create_time=1))
    newer = report(job(job_id=42, status="job_finish", create_time=2))
    first, second = (older, newer) if held == "older" else (newer, older)
    race = Interleaved(ddb, ("update_item", 1), lambda: reporter()(event(second)))
    assert reporter(client=race.client)(event(first))["statusCode"] == 200
    assert race.second["statusCode"] == 200
    assert (current(ddb, 42)["status"], current(ddb, 42)["create_time"]) == ("job_finish", 2)
    assert len(history(ddb)) == 2  # both statuses in the history
    RUN["concurrent"] += 2


# --- what is kept ---------------------------------------------------------------------------


def test_job_without_job_id_is_kept_under_the_message(handler, ddb):
    assert handler(load_event("report/no-job-id.json"))["statusCode"] == 200
    (item,) = history(ddb)
    assert item["pk"] == layout.message_pk(PROJECT, "no-job-id-1")
    assert item["metrics"] == '{"records_in": 0}'
    assert not [i for i in scan(ddb, JOB_TABLE) if i["sk"]["S"] == layout.CURRENT_SK]


def test_unknown_status_and_extra_fields_are_kept(handler, ddb):
    body = report(job(job_id=11, status="job_quantum_entangled", agent_build="7.1", shards=[1, 2]), agent="v9")
    assert handler(event(body))["statusCode"] == 200
    (item,) = history(ddb)
    assert item["status"] == "job_quantum_entangled"
    assert item["extra"] == {"agent_build": "7.1", "shards": [1, 2]}
    (ledger,) = [deserialize(i) for i in scan(ddb, LEDGER_TABLE)]
    assert ledger["extra"] == {"agent": "v9"}


@pytest.mark.parametrize("field", ["exceptions", "metrics", "plan"])
def test_text_or_object_fields_store_either_form_without_loss(handler, ddb, field):
    as_text = '{"not": "parsed"}'
    as_object = {"nested": {"list": [1, 2.25, None, True, "x"]}, "big": 12345678901234567890}
    handler(
        event(
            report(
                job(job_id=12, create_time=1, **{field: as_text}), job(job_id=12, create_time=2, **{field: as_object})
            )
        )
    )
    stored = {item["create_time"]: item[field] for item in history(ddb)}
    assert stored[1] == as_text
    assert stored[2] == json.loads(json.dumps(as_object), parse_float=Decimal)


def test_null_optional_fields_are_absent(handler, ddb):
    body = report(job(job_id=None, exceptions=None, metrics=None, plan=None), msg_confirm_topic=None)
    assert handler(event(body))["statusCode"] == 200
    (item,) = history(ddb)
    assert not {"job_id", "exceptions", "metrics", "plan"} & item.keys()


def test_maximum_jobs_are_accepted_and_batched_by_25(build, ddb):
    client = FaultyClient(ddb)
    invoke = build(client)
    body = report(*[job(job_id=i) for i in range(1, 101)])
    assert invoke(event(body))["statusCode"] == 200
    batches = [kw for name, kw in client.calls if name == "batch_write_item"]
    assert [len(b["RequestItems"][JOB_TABLE]) for b in batches] == [25, 25, 25, 25]
    assert len(history(ddb)) == 100


def test_identical_jobs_in_one_report_are_stored_once(handler, ddb):
    assert handler(event(report(job(job_id=13), job(job_id=13))))["statusCode"] == 200
    assert len(history(ddb)) == 1


def test_plan_of_hundreds_of_kilobytes_is_stored(handler, ddb):
    plan = "p" * 350_000
    assert handler(event(report(job(job_id=1, plan=plan))))["statusCode"] == 200
    assert history(ddb)[0]["plan"] == plan


def test_category_index_is_sharded_and_lists_every_job(handler, ddb):
    assert handler(event(report(*[job(job_id=i) for i in range(1, 41)])))["statusCode"] == 200
    partitions = {layout.category_index_pk(PROJECT, layout.category_shard(i)) for i in range(1, 41)}
    assert len(partitions) == layout.CATEGORY_SHARDS
    listed = []
    for partition in partitions:
        page = ddb.query(
            TableName=JOB_TABLE,
            IndexName=layout.CATEGORY_INDEX,
            KeyConditionExpression="gsi2pk = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
        )
        listed += [layout.parse_job_pk(item["pk"]["S"])[1] for item in page["Items"]]
    assert sorted(listed) == list(range(1, 41))


INDEX_KEYS = ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")


def test_current_item_carries_what_the_read_side_needs(handler, ddb):
    # Given the seed example is stored
    handler(load_event("report/seed.json"))
    # Then its current item holds the category, reported_at (= the report's received_at) and exceptions
    item = current(ddb, 99270)
    (stored,) = history(ddb)
    assert item["category"] == "failed"
    assert item["reported_at"] == stored["received_at"]
    assert item["exceptions"] == seed_body()["jobs"][0]["exceptions"]
    # And it is filed in both indexes: its category's partition, and the silence buckets
    assert item["gsi2pk"] == layout.category_index_pk(PROJECT, layout.category_shard(99270))
    assert layout.category_of_index_sk(item["gsi2sk"]) == "failed"
    assert item["gsi1pk"] == layout.silence_index_pk(PROJECT, 99270)


def test_a_heartbeat_changes_no_index_key_and_a_category_change_moves_one(reporter, clock, ddb):
    send = reporter(silent_after_minutes=30)  # 15-minute silence buckets
    clock.now = 1_796_000_100.0  # 100 s into a bucket
    send(event(report(job(job_id=30, status="job_running", create_time=1))))
    before = current(ddb, 30)
    # When a heartbeat arrives (same status, newer create_time) a minute later, in the same bucket
    clock.advance(60)
    send(event(report(job(job_id=30, status="job_running", create_time=2))))
    after = current(ddb, 30)
    # Then the current status moved, and not one index key changed: no index is written
    assert (after["create_time"], after["reported_at"]) == (2, before["reported_at"] + 60_000)
    assert {k: after[k] for k in INDEX_KEYS} == {k: before[k] for k in INDEX_KEYS}
    # When a heartbeat crosses into the next bucket, both indexes move (the cost docs/performance.md counts)
    clock.advance(900)
    send(event(report(job(job_id=30, status="job_running", create_time=3))))
    crossed = current(ddb, 30)
    assert crossed["gsi1sk"] != after["gsi1sk"]
    assert crossed["gsi2sk"] != after["gsi2sk"]
    # When the status changes category, within the bucket, only the category index key moves
    clock.advance(60)
    send(event(report(job(job_id=30, status="job_finish", create_time=4))))
    finished = current(ddb, 30)
    assert finished["gsi2pk"] == crossed["gsi2pk"]
    assert layout.category_of_index_sk(finished["gsi2sk"]) == "finished"
    assert finished["gsi2sk"] != crossed["gsi2sk"]
    assert (finished["gsi1pk"], finished["gsi1sk"]) == (crossed["gsi1pk"], crossed["gsi1sk"])
    # And a finished job's heartbeat in a later bucket leaves its category index key alone
    clock.advance(3600)
    send(event(report(job(job_id=30, status="job_finish", create_time=5))))
    assert current(ddb, 30)["gsi2sk"] == finished["gsi2sk"]
