"""A bounded load on the local stack: the partition-key spread of what was written matches docs/capacity.md.

The model: a report of n jobs writes 1 ledger item (its own key), n history items (one per job
key per report) and n current updates (one per job key); the project index is spread over 16
shards by job_id. No key is written more than once per report, so a key's write rate is the
report rate of one node, far below DynamoDB's 1,000 WCU per partition key.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobstatus import model
from tests.support import RUN, job, report
from tests.support.local import Local

NODES, JOBS_PER_NODE, ROUNDS, DEADLINE_S = 40, 3, 4, 60

pytestmark = pytest.mark.slow(60)


def test_bounded_load_spreads_writes_as_the_capacity_model_says(local: Local):
    project = uuid.uuid4().hex
    started = time.monotonic()

    def node(n: int) -> int:
        sent = 0
        for round_ in range(ROUNDS):
            if time.monotonic() - started > DEADLINE_S:
                break
            jobs = [job(job_id=n * JOBS_PER_NODE + j + 1, create_time=1_000 + round_) for j in range(JOBS_PER_NODE)]
            assert local.post(project, report(*jobs)).status == 200
            sent += 1
        return sent

    with ThreadPoolExecutor(20) as pool:
        reports = sum(pool.map(node, range(NODES)))
    RUN["concurrent"] += reports
    found = local.items(project)
    history = Counter(i["pk"]["S"] for i in found["JobStatusTable"] if i["sk"]["S"] != "CURRENT")
    current = Counter(i["pk"]["S"] for i in found["JobStatusTable"] if i["sk"]["S"] == "CURRENT")
    shards = Counter(i["gsi2pk"]["S"] for i in found["JobStatusTable"] if "gsi2pk" in i)
    silence = Counter(i["gsi1pk"]["S"] for i in found["JobStatusTable"] if "gsi1pk" in i)
    jobs = NODES * JOBS_PER_NODE
    assert reports == NODES * ROUNDS, "the load finished inside its deadline"
    # one ledger item per report, each under its own key
    assert len(found["IdempotencyTable"]) == reports
    # each job key got one history item per report of its node, and one current item
    assert len(history) == jobs
    assert set(history.values()) == {ROUNDS}
    assert set(current.values()) == {1}
    # the category index (all these jobs are running) is spread evenly over its 16 shards
    assert len(shards) == model.CATEGORY_SHARDS
    assert max(shards.values()) - min(shards.values()) <= 1
    assert sum(shards.values()) == jobs
    # and every job is in the silence index, under one of its 64 shard keys (tests/unit checks the spread)
    assert sum(silence.values()) == jobs
    assert set(silence) <= set(model.silence_index_pks())
