"""The local stream event source mapping (localapi/streams.py) does what Lambda's does with the template's settings."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import boto3
import pytest

from devkit.moto import SerializedClient
from devkit.streams import ShardReader
from localapi.runtime import FunctionError
from localapi.streams import StreamMapping
from tests.support import TEMPLATE, job, report
from tests.support.gateway import event


class Runtime:
    """A function runtime that records every batch and answers as it is told to."""

    def __init__(self, answer: Any) -> None:
        self.batches: list[list[str]] = []  # sequence numbers, batch by batch
        self.ids: list[list[str]] = []  # the same records by eventID
        self._answer = answer
        self.function = TEMPLATE.function("JobEventsFunction")

    def invoke(self, lambda_event: dict[str, Any], request_id: str) -> Any:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in lambda_event["Records"]]
        self.batches.append(sequences)
        self.ids.append([r["eventID"] for r in lambda_event["Records"]])
        return self._answer(lambda_event["Records"], len(self.batches))


@pytest.fixture
def wiring(ddb: Any) -> dict[str, Any]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in TEMPLATE.queues()}
    arn = ddb.describe_table(TableName="JobStatusTable")["Table"]["LatestStreamArn"]
    return {
        "sqs": sqs,
        "queues": queues,
        "arn": arn,
        "streams": boto3.client("dynamodbstreams", region_name="us-east-1"),
    }


@pytest.fixture
def reporter(reporter: Any, ddb: Any) -> Any:
    """Report handlers whose DynamoDB calls run one at a time (devkit.moto.SerializedClient):
    these tests name stream records by sequence number, which DynamoDB keeps unique and moto, under
    the report's concurrent writers, does not."""
    return lambda *args, **kwargs: reporter(*args, client=SerializedClient(ddb), **kwargs)


def run(
    wiring: dict[str, Any], runtime: Runtime, send: Any, reports: list[dict[str, Any]], **changes: Any
) -> StreamMapping:
    (trigger,) = TEMPLATE.streams()
    trigger = replace(trigger, starting_position="TRIM_HORIZON", **changes)
    for body in reports:
        assert send(event(body))["statusCode"] == 200
    mapping = StreamMapping(
        trigger,
        runtime,  # type: ignore[arg-type]
        streams=wiring["streams"],
        sqs=wiring["sqs"],
        stream_arn=wiring["arn"],
        queue_urls=wiring["queues"],
        stopped=threading.Event(),
    )
    readers: dict[str, ShardReader] = {}
    mapping._refresh(readers)
    batch = mapping._read(readers, trigger.batch_size)
    if batch:
        mapping._deliver(batch)
    return mapping


def dead_letters(wiring: dict[str, Any]) -> list[dict[str, Any]]:
    (url,) = wiring["queues"].values()
    messages = wiring["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_only_current_items_reach_the_function_in_one_batch(reporter, wiring):
    runtime = Runtime(lambda records, n: {"batchItemFailures": []})
    run(wiring, runtime, reporter(), [report(*[job(job_id=j) for j in range(1, 6)])])
    (batch,) = runtime.batches
    assert len(batch) >= 5  # the five current items (moto adds a keys-only image before each new one)
    assert dead_letters(wiring) == []


def test_a_partial_failure_is_retried_from_the_first_failed_record_until_it_succeeds(reporter, wiring):
    def answer(records: list[dict[str, Any]], attempt: int) -> dict[str, Any]:
        if attempt <= 2:  # fail the third record twice
            return {
                "batchItemFailures": [
                    {"itemIdentifier": records[min(2, len(records) - 1)]["dynamodb"]["SequenceNumber"]}
                ]
            }
        return {"batchItemFailures": []}

    runtime = Runtime(answer)
    run(wiring, runtime, reporter(), [report(*[job(job_id=j) for j in range(1, 4)])])
    first, second, third = runtime.batches
    assert second == first[2:]  # from the first failed record on: those before it are done
    assert len(second) > 2
    assert third == second[2:]
    assert dead_letters(wiring) == []


def test_a_record_that_keeps_failing_goes_to_the_on_failure_queue_after_the_retries(reporter, wiring):
    runtime = Runtime(
        lambda records, n: {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    )
    run(wiring, runtime, reporter(), [report(job(job_id=1))], max_retries=3)
    assert len(runtime.batches) == 4  # the first attempt and 3 retries
    (letter,) = dead_letters(wiring)
    info = letter["DDBStreamBatchInfo"]
    assert info["streamArn"] == wiring["arn"]
    assert info["startSequenceNumber"] == runtime.batches[0][0]
    assert info["batchSize"] == len(runtime.batches[0])
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_a_function_error_bisects_the_batch_until_the_bad_record_is_alone(reporter, wiring):
    # The poisoned record is named by its eventID: moto numbers stream records with len(records) at
    # the time of the write, so the report's concurrent writers can give two records one sequence
    # number (DynamoDB's are unique). The mapping itself only ever slices the batch by position.
    poisoned: list[dict[str, Any]] = []

    def answer(records: list[dict[str, Any]], attempt: int) -> dict[str, Any]:
        if not poisoned:
            poisoned.append(records[-1])
        if poisoned[0]["eventID"] in [r["eventID"] for r in records]:
            raise FunctionError("boom")
        return {"batchItemFailures": []}

    runtime = Runtime(answer)
    run(wiring, runtime, reporter(), [report(*[job(job_id=j) for j in range(1, 5)])], max_retries=1)
    bad = poisoned[0]["eventID"]
    delivered = {i for batch in runtime.ids for i in batch if i != bad}
    assert delivered == set(runtime.ids[0]) - {bad}  # every good record got through a half
    assert [batch for batch in runtime.ids if bad in batch][-1] == [bad]  # halved until it was alone
    (letter,) = dead_letters(wiring)
    assert letter["DDBStreamBatchInfo"]["startSequenceNumber"] == poisoned[0]["dynamodb"]["SequenceNumber"]
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1
