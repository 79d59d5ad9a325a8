"""Table.read_batch: what a BatchGetItem leaves unprocessed is retried, a bounded number of times with
backoff, and what is still left is handed back (the read routes turn it into a 503)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from jobstatus.dynamodb import BACKOFF_CAP_S, BATCH_ATTEMPTS, Table
from jobstatus.errors import DependencyUnavailable
from query.store import JobReads

TABLE = "JobStatusTable"


def key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"p#JOB#{n}"}, "sk": {"S": "CURRENT"}}


class Stingy:
    """A client whose BatchGetItem answers `per_call` keys a call (0: none ever) and leaves the rest unprocessed."""

    def __init__(self, per_call: int) -> None:
        self.per_call, self.calls = per_call, 0

    def batch_get_item(self, **request: Any) -> Any:
        self.calls += 1
        keys = request["RequestItems"][TABLE]["Keys"]
        assert request["RequestItems"][TABLE]["ConsistentRead"] is True
        done, left = keys[: self.per_call], keys[self.per_call :]
        return {
            "Responses": {TABLE: [dict(k, status={"S": "job_running"}) for k in done]},
            "UnprocessedKeys": {TABLE: {"Keys": left, "ConsistentRead": True}} if left else {},
        }


def test_keys_left_unprocessed_are_asked_again_until_all_are_read():
    client, waits = Stingy(per_call=2), list[float]()
    found, left = Table(client, TABLE, sleep=waits.append).read_batch([key(n) for n in range(5)])
    assert sorted(i["pk"]["S"] for i in found) == sorted(key(n)["pk"]["S"] for n in range(5))
    assert (left, client.calls, len(waits)) == ([], 3, 2)  # a jittered wait between attempts


def test_what_is_still_unprocessed_after_the_attempts_is_handed_back():
    client, waits = Stingy(per_call=0), list[float]()
    found, left = Table(client, TABLE, sleep=waits.append).read_batch([key(n) for n in range(3)])
    assert (found, left) == ([], [key(n) for n in range(3)])
    assert client.calls == BATCH_ATTEMPTS
    assert len(waits) == BATCH_ATTEMPTS - 1
    assert all(0 <= w <= BACKOFF_CAP_S for w in waits)  # capped


def test_the_read_routes_turn_keys_left_over_into_a_retryable_fault():
    reads = JobReads(
        Stingy(per_call=0),
        job_table=TABLE,
        ledger_table="IdempotencyTable",
        pool=ThreadPoolExecutor(2),
        sleep=lambda s: None,
    )
    with pytest.raises(DependencyUnavailable):
        reads.currents(["p#JOB#1", "p#JOB#2"])
