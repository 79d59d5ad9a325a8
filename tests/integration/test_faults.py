"""Dependency faults: a 200 only when everything is stored; otherwise a retryable 5xx, and the retry completes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import JOB_TABLE, LEDGER_TABLE, RUN, account, everything, job, report, scan
from tests.support.clients import FaultyClient, client_error
from tests.support.gateway import body_of, event, headers_of


def without_timestamps(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    # What depends on when the report was received: the time itself, and the silence bucket keys.
    drop = {"received_at", "expires_at", "reported_at", "gsi1sk", "gsi2sk"}
    return {t: [{k: v for k, v in i.items() if k not in drop} for i in items] for t, items in tables.items()}


def assert_same_as_fault_free(ddb: Any, expected: dict[str, list[dict[str, Any]]]) -> None:
    found, wanted = without_timestamps(everything(ddb)), without_timestamps(expected)
    account([i for t in wanted.values() for i in t], [i for t in found.values() for i in t])
    assert found == wanted


def reference(build: Any, ddb: Any, body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What a fault-free run writes for this body (then the tables are emptied again)."""
    assert build(ddb)(event(body))["statusCode"] == 200
    written = everything(ddb)
    for table, items in written.items():
        for item in items:
            key = {"pk": item["pk"]} | ({"sk": item["sk"]} if "sk" in item else {})
            ddb.delete_item(TableName=table, Key=key)
    return written


def unprocessed_everything(real: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"UnprocessedItems": kwargs["RequestItems"]}


def unprocessed_half(real: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    ((table, requests),) = kwargs["RequestItems"].items()
    half = len(requests) // 2
    real(RequestItems={table: requests[:half]})
    return {"UnprocessedItems": {table: requests[half:]}}


FAULTS: dict[str, Exception] = {
    "throughput exceeded": client_error("ProvisionedThroughputExceededException"),
    "throttling": client_error("ThrottlingException"),
    "internal server error": client_error("InternalServerError"),
    "read timeout": ReadTimeoutError(endpoint_url="http://dynamodb"),
}


FAULT_NAMES = {id(fault): name for name, fault in FAULTS.items()}


@pytest.mark.parametrize("operation", ["update_item", "batch_write_item"])
@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_fault_gives_retryable_503_and_the_retry_completes_the_report(build, ddb, operation, fault):
    body = report(job(job_id=1), job(job_id=2), job(job_id=None), msg_confirm_topic="t/confirm")
    expected = reference(build, ddb, body)
    # Given DynamoDB fails once on this operation
    faulty = FaultyClient(ddb, **{operation: [fault]})
    # When the report is sent
    response = build(faulty)(event(body))
    # Then the answer says retry, without internals
    assert response["statusCode"] == 503
    assert headers_of(response)["retry-after"] == "1"
    error = body_of(response)
    assert error["error_code"] == "DLI.0999"
    assert "Retry" in error["message"]
    assert not any(word in response["body"] for word in ("Exception", "Throttl", "Traceback", "dynamodb", "Table"))
    # And a retry with the same message_id stores exactly what a fault-free run stores
    assert build(ddb)(event(body))["statusCode"] == 200
    assert_same_as_fault_free(ddb, expected)
    RUN["faults"].add(f"{FAULT_NAMES[id(fault)]} on {operation}")


def test_unprocessed_items_are_retried_until_stored(build, ddb):
    faulty = FaultyClient(ddb, batch_write_item=[unprocessed_half, unprocessed_everything, unprocessed_half])
    body = report(*[job(job_id=i) for i in range(1, 26)])
    assert build(faulty)(event(body))["statusCode"] == 200
    history = [i["pk"]["S"] for i in scan(ddb, JOB_TABLE) if i["sk"]["S"] != "CURRENT"]
    account([f"JOB#{i}" for i in range(1, 26)], [pk.split("#", 1)[1] for pk in history])
    assert len(history) == 25
    RUN["faults"].add("partial UnprocessedItems on every batch")


def test_items_left_unprocessed_after_bounded_retries_give_503(build, ddb):
    sleeps: list[float] = []
    faulty = FaultyClient(ddb, batch_write_item=[unprocessed_everything] * 10)
    response = build(faulty, sleep=sleeps.append)(event(report(job())))
    assert response["statusCode"] == 503
    assert len(sleeps) == 5  # six attempts, bounded backoff between them
    assert sum(sleeps) < 3


def test_crash_between_ledger_and_data_writes_is_completed_by_the_retry(build, ddb):
    body = report(job(job_id=1), job(job_id=2))
    expected = reference(build, ddb, body)
    # Given the process dies right after the ledger write (a non-DynamoDB failure: a 500)
    crash = RuntimeError("simulated crash")
    faulty = FaultyClient(ddb, batch_write_item=[crash], update_item=[None, crash, crash])
    response = build(faulty)(event(body))
    assert response["statusCode"] == 500
    assert "simulated" not in response["body"]
    assert len(scan(ddb, LEDGER_TABLE)) == 1
    # When the agent retries
    retry = build(ddb)(event(body))
    # Then it is a replay that completes the report exactly
    assert retry["statusCode"] == 200
    assert headers_of(retry)["idempotent-replayed"] == "true"
    assert_same_as_fault_free(ddb, expected)
    RUN["faults"].add("crash between ledger and data writes")


def test_ledger_fault_writes_nothing(build, ddb):
    faulty = FaultyClient(ddb, update_item=[client_error("InternalServerError", "UpdateItem")])
    assert build(faulty)(event(report(job())))["statusCode"] == 503
    assert everything(ddb) == {JOB_TABLE: [], LEDGER_TABLE: []}
    RUN["faults"].add("InternalServerError on the ledger write")


STATUSES = ["job_running", "job_finish", "job_canceling", "job_init", "job_cancel_success", "zz_future"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    statuses=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(STATUSES)), min_size=1, max_size=6),
    seed=st.randoms(use_true_random=False),
    chunk=st.integers(1, 3),
)
def test_any_arrival_order_leaves_the_same_current_status(handler, ddb, statuses, seed, chunk):
    # Given the same status reports for one job, split into reports, in two arrival orders
    job_id = random.Random(repr(statuses)).randrange(1, 2**62)  # noqa: S311  # fresh job per example: moto persists
    reports = [
        report(*[job(job_id=job_id, status=s, create_time=t) for t, s in statuses[i : i + chunk]])
        for i in range(0, len(statuses), chunk)
    ]
    shuffled = reports[:]
    seed.shuffle(shuffled)
    results = []
    for order, project in ((reports, "ordera"), (shuffled, "orderb")):
        for body in order:
            assert handler(event(body, project=project))["statusCode"] == 200
        item = ddb.get_item(TableName=JOB_TABLE, Key={"pk": {"S": f"{project}#JOB#{job_id}"}, "sk": {"S": "CURRENT"}})[
            "Item"
        ]
        results.append((item["status"]["S"], item["create_time"]["N"]))
    # Then both orders leave the same current status: the greatest (create_time, rank)
    newest = max(statuses, key=lambda ts: (ts[0], "1" if ts[1] in {"job_finish", "job_cancel_success"} else "0", ts[1]))
    assert results[0] == results[1] == (newest[1], str(newest[0]))
