"""Stream and EventBridge plumbing for the tests: what the events function is given, and what it published."""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Callable
from typing import Any, cast

from moto.events.models import EventPattern

from devkit.events import stream_record
from devkit.template import LocalTemplate
from jobstatus import model

JOB_TABLE = "JobStatusTable"
# Streams and EventBridge through moto in-process: botocore would otherwise send streams calls to an
# account-based host moto does not match.
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"


class Stream:
    """The job table's stream as the events function's mapping sees it: only what its filters let through."""

    def __init__(self, ddb: Any, streams: Any, template: LocalTemplate) -> None:
        self._streams = streams
        self.arn = ddb.describe_table(TableName=JOB_TABLE)["Table"]["LatestStreamArn"]
        (trigger,) = template.streams()
        self.trigger = trigger
        self._patterns = [EventPattern.load(p) for p in trigger.filters]
        self._shard = streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=self._shard, ShardIteratorType="LATEST"
        )["ShardIterator"]
        self._last: str | None = None  # the sequence number of the last record read
        self.skipped = 0  # records the filter criteria kept from the function

    def batch(self) -> dict[str, Any]:
        """Every record since the last call that passes the filters, as one Lambda event."""
        records: list[dict[str, Any]] = []
        if self._last is not None:
            # From the last record read, not the previous NextShardIterator: a canceled transaction makes
            # moto put back a copy of the table, whose stream the old iterator no longer reads.
            self._iterator = self._streams.get_shard_iterator(
                StreamArn=self.arn,
                ShardId=self._shard,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self._last,
            )["ShardIterator"]
        while True:
            response = self._streams.get_records(ShardIterator=self._iterator, Limit=1000)
            self._iterator = response["NextShardIterator"]
            if not response["Records"]:
                return {"Records": records}
            self._last = response["Records"][-1]["dynamodb"]["SequenceNumber"]
            for record in response["Records"]:
                event_record = stream_record(record, self.arn)
                if any(p.matches_event(cast(Any, event_record)) for p in self._patterns):
                    records.append(event_record)
                else:
                    self.skipped += 1


class Bus:
    """What reached the default bus: a rule for every event, with an SQS target, as an operator would set up."""

    def __init__(self, events: Any, sqs: Any) -> None:
        self._sqs = sqs
        self.url = sqs.create_queue(QueueName="observer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="observer", EventPattern=json.dumps({"source": ["edgesrv.jobs"]}))
        events.put_targets(Rule="observer", Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


class IndexedSilence:
    """A client whose silence-index queries are answered from a sorted in-memory index, the rest by moto.

    moto answers an index query by scanning the whole table: 64 of them over 100,000 items take over a
    minute. This index is seeded from moto's items (what the report path filed) and from `extra`
    entries (index entries of jobs that only need to exist in the index), and answers the sweep's
    key condition (`gsi1pk = :p AND gsi1sk <= :last`) as DynamoDB does, keys only.
    """

    def __init__(self, client: Any, extra: list[dict[str, Any]] | None = None) -> None:
        self._client = client
        self._index: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for page in client.get_paginator("scan").paginate(TableName=JOB_TABLE):
            for item in page["Items"]:
                if "gsi1pk" in item:
                    self._add({k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")})
        for entry in extra or []:
            self._add(entry)
        for entries in self._index.values():
            entries.sort(key=lambda e: (e[0], e[1]["pk"]["S"]))

    def _add(self, entry: dict[str, Any]) -> None:
        self._index.setdefault(entry["gsi1pk"]["S"], []).append((entry["gsi1sk"]["S"], entry))

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != "query":
            return real

        def query(**request: Any) -> Any:
            if request.get("IndexName") != model.SILENCE_INDEX:
                return real(**request)
            assert request["KeyConditionExpression"] == "#ipk = :p AND #isk <= :last"
            values = request["ExpressionAttributeValues"]
            entries = self._index.get(values[":p"]["S"], [])
            end = bisect.bisect_right([sk for sk, _ in entries], values[":last"]["S"])
            return {"Items": [entry for _, entry in entries[:end]], "Count": end}

        return query


def silence_entry(project_id: str, job_id: int, reported_at_ms: int, silent_after_minutes: int) -> dict[str, Any]:
    """The silence index entry the report path files for a job reported at `reported_at_ms`."""
    return {
        "pk": {"S": model.job_pk(project_id, job_id)},
        "sk": {"S": model.CURRENT_SK},
        "gsi1pk": {"S": model.silence_index_pk(project_id, job_id)},
        "gsi1sk": {"S": model.silence_index_sk(model.bucket_start(reported_at_ms, silent_after_minutes))},
    }


Invoke = Callable[[dict[str, Any]], dict[str, Any]]
