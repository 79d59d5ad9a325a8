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


class ShardReader:
    """One shard of a table's stream, read onward from the last record read, each record in the form
    Lambda passes it and whether the trigger's filter criteria let it through.

    Each read starts from the last sequence number read, not from the NextShardIterator before it: a
    canceled transaction makes moto put back a copy of the table, whose stream an earlier iterator
    no longer reads.
    """

    def __init__(self, streams: Any, arn: str, shard: str, trigger: StreamTrigger, start: str) -> None:
        self._streams, self._arn, self.shard = streams, arn, shard
        self._patterns = [EventPattern.load(pattern) for pattern in trigger.filters]
        self._iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=start)[
            "ShardIterator"
        ]
        self._last: str | None = None
        self.closed = False  # the shard ended (split): no record will follow

    def read(self, limit: int) -> list[tuple[dict[str, Any], bool]]:
        """Up to `limit` records after the last one read: (the record as Lambda passes it, whether it
        passes the filters); [] when none is there yet."""
        if self._last is not None:
            self._iterator = self._streams.get_shard_iterator(
                StreamArn=self._arn,
                ShardId=self.shard,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self._last,
            )["ShardIterator"]
        response = self._streams.get_records(ShardIterator=self._iterator, Limit=limit)
        self.closed = not response.get("NextShardIterator")
        raw = response.get("Records", [])
        if raw:
            self._last = raw[-1]["dynamodb"]["SequenceNumber"]
        records = [stream_record(record, self._arn) for record in raw]
        return [(record, self._passes(record)) for record in records]

    def _passes(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(pattern.matches_event(cast(Any, record)) for pattern in self._patterns)


class FilteredStream:
    """The trigger's stream from now on (LATEST): each read returns the records written since the last one."""

    def __init__(
        self, dynamodb: Any, streams: Any, template: LocalTemplate, trigger: StreamTrigger | None = None
    ) -> None:
        if trigger is None:
            (trigger,) = template.streams()
        self.trigger = trigger
        table = template.table_name(trigger.table)
        self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shards = streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self._readers = [ShardReader(streams, self.arn, shard["ShardId"], trigger, "LATEST") for shard in shards]
        self.skipped = 0  # records the filter criteria kept from the function

    def records(self) -> list[dict[str, Any]]:
        """Every record since the last read that passes the filters, in Lambda's form."""
        records: list[dict[str, Any]] = []
        for reader in self._readers:
            while read := reader.read(1000):
                records += [record for record, passes in read if passes]
                self.skipped += sum(not passes for _, passes in read)
        return records

    def batch(self) -> dict[str, Any]:
        """Every record since the last read that passes the filters, as one Lambda event."""
        return {"Records": self.records()}

    def batches(self) -> list[dict[str, Any]]:
        """The same records as Lambda invokes the function with them: BatchSize records an event."""
        records, size = self.records(), self.trigger.batch_size
        return [{"Records": records[start : start + size]} for start in range(0, len(records), size)]
