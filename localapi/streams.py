"""The DynamoDB stream event source mappings: what Lambda's poller does, against moto's stream.

For each StreamTrigger of the template, a thread reads the table's stream (every shard, from
StartingPosition), keeps the records that match the trigger's filter criteria (EventBridge
pattern syntax, as Lambda evaluates it, with moto's matcher), gathers up to BatchSize records for
at most MaximumBatchingWindowInSeconds, and invokes the function with a real DynamoDB-stream event.
Then, as Lambda does:
- a partial batch response (ReportBatchItemFailures) retries the batch from the first failed
  record; records before it are done;
- a function error retries the whole batch, split in halves first when BisectBatchOnFunctionError;
- after MaximumRetryAttempts (or MaximumRecordAgeInSeconds) the failed records' batch is described
  in a message to the on-failure queue (moto's SQS), in the form Lambda sends, and the shard
  moves on.
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from devkit.streams import ShardReader
from devkit.template import StreamTrigger
from localapi.runtime import FunctionError, FunctionRuntime, FunctionTimeout

# Lambda reads each shard 4 times a second (the guide above, "Polling and batching streams"), and
# looks for new shards far less often: an idle stack then costs a few percent of a core, not ten.
POLL_S = 0.25
SHARDS_REFRESH_S = 10.0
Record = dict[str, Any]


class StreamMapping(threading.Thread):
    """One event source mapping: a table's stream into a function."""

    def __init__(
        self,
        trigger: StreamTrigger,
        runtime: FunctionRuntime,
        *,
        streams: Any,
        sqs: Any,
        stream_arn: str,
        queue_urls: dict[str, str],
        stopped: threading.Event,
    ) -> None:
        super().__init__(name=f"stream-{trigger.function}", daemon=True)
        self.trigger = trigger
        self._runtime = runtime
        self._streams, self._sqs = streams, sqs
        self._arn = stream_arn
        self._queue_urls = queue_urls
        self._stopped = stopped
        self.invocations = 0  # counted for the tests and the benchmark

    def run(self) -> None:
        readers: dict[str, ShardReader] = {}
        refreshed = -SHARDS_REFRESH_S
        while not self._stopped.is_set():
            try:
                if not readers or time.monotonic() - refreshed >= SHARDS_REFRESH_S:
                    self._refresh(readers)
                    refreshed = time.monotonic()
                batch: list[tuple[str, Record]] = []
                deadline = time.monotonic() + self.trigger.batching_window_s
                while len(batch) < self.trigger.batch_size:
                    batch += self._read(readers, self.trigger.batch_size - len(batch))
                    if not batch or time.monotonic() >= deadline or self._stopped.is_set():
                        break
                    time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
                if batch:
                    self._deliver(batch)
                else:
                    self._stopped.wait(POLL_S)
            except Exception as exc:  # noqa: BLE001 - the poller must outlive a passing fault of moto
                print(f"stream mapping {self.trigger.function}: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._stopped.wait(1)

    def _refresh(self, readers: dict[str, ShardReader]) -> None:
        """Readers for shards not yet read: the first ones from StartingPosition, later ones from their start."""
        first = not readers
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in readers:
                start = self.trigger.starting_position if first else "TRIM_HORIZON"
                readers[shard["ShardId"]] = ShardReader(self._streams, self._arn, shard["ShardId"], self.trigger, start)

    def _read(self, readers: dict[str, ShardReader], room: int) -> list[tuple[str, Record]]:
        batch = []
        for shard, reader in readers.items():
            if reader.closed or room <= 0:
                continue
            for record, passes in reader.read(room):
                if passes:  # a record that matches no filter is skipped, as Lambda does
                    batch.append((shard, record))
                    room -= 1
        return batch

    def _deliver(self, batch: list[tuple[str, Record]], attempt: int = 0) -> None:
        """Invoke until the batch is done: retried, bisected, or sent to the on-failure queue."""
        records = [record for _, record in batch]
        self.invocations += 1
        try:
            result = self._runtime.invoke({"Records": records}, request_id=str(uuid.uuid4()))
        except (FunctionError, FunctionTimeout) as exc:
            print(f"{self.trigger.function} failed a batch of {len(records)}: {exc}", file=sys.stderr)
            if self.trigger.bisect_on_error and len(batch) > 1:
                half = len(batch) // 2
                self._deliver(batch[:half], attempt + 1)
                self._deliver(batch[half:], attempt + 1)
                return
            self._retry(batch, attempt, "function error")
            return
        failures = (result or {}).get("batchItemFailures", []) if self.trigger.report_item_failures else []
        if not failures:
            return
        failed = {str(f.get("itemIdentifier")) for f in failures}
        first = next((i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed), 0)
        self._retry(batch[first:], attempt, "partial batch failure")

    def _retry(self, batch: list[tuple[str, Record]], attempt: int, why: str) -> None:
        oldest = min(r["dynamodb"].get("ApproximateCreationDateTime", time.time()) for _, r in batch)
        expired = 0 <= self.trigger.max_record_age_s < time.time() - oldest
        if (0 <= self.trigger.max_retries <= attempt) or expired:
            self._give_up(batch, attempt, why)
            return
        if self._stopped.wait(min(2.0, 0.1 * 2**attempt)):
            return  # the stack is stopping: the records stay in the stream, as Lambda's would
        self._deliver(batch, attempt + 1)

    def _give_up(self, batch: list[tuple[str, Record]], attempt: int, why: str) -> None:
        """The message Lambda sends to a stream mapping's on-failure destination: where the records are."""
        records = [record for _, record in batch]
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._runtime.function.logical_id,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempt + 1,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": why},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": batch[0][0],
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self._arn,
            },
        }
        queue = self.trigger.on_failure
        if queue is None:
            print(
                f"{self.trigger.function}: {len(records)} records dropped after retries (no on-failure queue)",
                file=sys.stderr,
            )
            return
        self._sqs.send_message(QueueUrl=self._queue_urls[queue], MessageBody=json.dumps(info))
        print(
            f"{self.trigger.function}: {len(records)} records sent to {queue} after {attempt + 1} attempts",
            file=sys.stderr,
        )
