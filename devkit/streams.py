"""A table's stream as a stream event source mapping hands it to its function, read in this process:
the records that pass the trigger's filter criteria (EventBridge pattern syntax, with moto's matcher,
as Lambda evaluates them), in the form Lambda passes them, batched by the trigger's BatchSize.

The tests and the bench read what the events function is given here; `make run` polls the stream
with the retries and on-failure queue of Lambda's poller (localapi/streams.py).
"""

from __future__ import annotations

from typing import Any, cast

from moto.events.models import EventPattern

from devkit.events import stream_record
from devkit.template import LocalTemplate, StreamTrigger


class FilteredStream:
    """The trigger's stream from now on (LATEST): each read returns the records written since the last one."""

    def __init__(
        self, dynamodb: Any, streams: Any, template: LocalTemplate, trigger: StreamTrigger | None = None
    ) -> None:
        if trigger is None:
            (trigger,) = template.streams()
        self.trigger = trigger
        self._streams = streams
        table = template.table_name(trigger.table)
        self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self._patterns = [EventPattern.load(pattern) for pattern in trigger.filters]
        shards = streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self._shards = [shard["ShardId"] for shard in shards]
        self._iterators = [
            streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
            for shard in self._shards
        ]
        self._last: dict[int, str] = {}  # each shard's last sequence number read
        self.skipped = 0  # records the filter criteria kept from the function

    def records(self) -> list[dict[str, Any]]:
        """Every record since the last read that passes the filters, in Lambda's form."""
        records: list[dict[str, Any]] = []
        for position, shard in enumerate(self._shards):
            if position in self._last:
                # From the last record read, not from NextShardIterator: a canceled transaction makes moto
                # put back a copy of the table, whose stream an earlier iterator no longer reads.
                self._iterators[position] = self._streams.get_shard_iterator(
                    StreamArn=self.arn,
                    ShardId=shard,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=self._last[position],
                )["ShardIterator"]
            while True:
                response = self._streams.get_records(ShardIterator=self._iterators[position], Limit=1000)
                self._iterators[position] = response["NextShardIterator"]
                if not response["Records"]:
                    break
                self._last[position] = response["Records"][-1]["dynamodb"]["SequenceNumber"]
                for record in response["Records"]:
                    event_record = stream_record(record, self.arn)
                    if not self._patterns or any(p.matches_event(cast(Any, event_record)) for p in self._patterns):
                        records.append(event_record)
                    else:
                        self.skipped += 1
        return records

    def batch(self) -> dict[str, Any]:
        """Every record since the last read that passes the filters, as one Lambda event."""
        return {"Records": self.records()}

    def batches(self) -> list[dict[str, Any]]:
        """The same records as Lambda invokes the function with them: BatchSize records an event."""
        records, size = self.records(), self.trigger.batch_size
        return [{"Records": records[start : start + size]} for start in range(0, len(records), size)]
