"""Wiring and the batch: stream records in, events out through EventBridge, partial batch failures back.

Powertools' BatchProcessor (DynamoDB streams, partial batch responses) with one change to how it
processes a batch: PutEvents takes 10 entries a call, so the record handler only says which events
a record makes, and the batch's events are then published together, at most ceil(events / 10)
calls. A record whose events are not all delivered after the retries fails, and so does every
record after it, unpublished: Lambda retries from the first failed record (ReportBatchItemFailures),
so later changes of a job are never published before an earlier one, and after the retry limit
the batch goes to the on-failure queue. Nothing is dropped silently.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from jobstatus.dynamodb import deserialize
from jobstatus.observability import count, logger, metrics
from notify.changes import RESUMED, STATUS_CHANGED, WENT_SILENT, Event, events_of
from notify.publisher import EventPublisher, events_client
from notify.settings import NotifySettings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (event, Lambda context) -> batch response
TYPE_METRICS = {STATUS_CHANGED: "StatusChangedEvents", WENT_SILENT: "WentSilentEvents", RESUMED: "ResumedEvents"}


class Undelivered(Exception):
    """An event of this record, or of an earlier record of the batch, could not be delivered."""


class PublishingProcessor(BatchProcessor):
    """Powertools' DynamoDB streams processor, publishing the whole batch's events together."""

    def __init__(self, publisher: EventPublisher) -> None:
        super().__init__(event_type=EventType.DynamoDBStreams)
        self._publisher = publisher

    def process(self) -> list[tuple[Any, ...]]:
        planned: list[tuple[DynamoDBRecord, list[Event]]] = []
        outcomes: list[tuple[Any, ...]] = []
        failing = False
        for raw in self.records:
            record = cast(DynamoDBRecord, self._to_batch_type(record=raw, event_type=self.event_type))
            if failing:
                outcomes.append(self._fail(record, "an earlier record of the batch failed"))
                continue
            try:
                planned.append((record, list(self.handler(record=record))))
            except Exception:  # noqa: BLE001 - the record fails, is retried, and goes to the on-failure queue
                outcomes.append(self.failure_handler(record=record, exception=sys.exc_info()))
                failing = True
        # Every planned record comes before the first record that failed above, so only a delivery
        # failure can fail it now.
        undelivered = self._publisher.publish([event for _, events in planned for event in events])
        published = failed = 0
        stuck = False
        for record, events in planned:
            if stuck or any(event.event_id in undelivered for event in events):
                stuck = True
                failed += len(events)
                outcomes.append(self._fail(record, "an event was not delivered after retries"))
                continue
            published += len(events)
            for event in events:
                count(TYPE_METRICS[event.detail_type])
                if (
                    event.detail_type == STATUS_CHANGED
                    and event.detail["category"] != event.detail["previous_category"]
                ):
                    count(f"JobsEntered{event.detail['category'].title()}")
            outcomes.append(self.success_handler(record=record, result=len(events)))
        count("EventsPublished", published)
        if failed:
            count("EventsFailed", failed)
        count("PutEventsCalls", self._publisher.calls)
        return outcomes

    def _fail(self, record: DynamoDBRecord, why: str) -> tuple[Any, ...]:
        error = Undelivered(why)
        return cast(tuple[Any, ...], self.failure_handler(record=record, exception=(Undelivered, error, None)))


def build_handler(
    settings: NotifySettings, *, events: Any = None, sleep: Callable[[float], None] = time.sleep
) -> Handler:
    """The stream consumer. The EventBridge client defaults to the deployed one; pass another to test."""
    client = events or events_client()

    def record_events(record: DynamoDBRecord) -> list[Event]:
        images = record.dynamodb.raw_event if record.dynamodb is not None else {}
        old, new = images.get("OldImage"), images.get("NewImage")
        return events_of(
            {k: deserialize(v) for k, v in old.items()} if old else None,
            {k: deserialize(v) for k, v in new.items()} if new else None,
            silent_after_minutes=settings.silent_after_minutes,
        )

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        publisher = EventPublisher(client, bus_name=settings.event_bus_name, sleep=sleep)
        processor = PublishingProcessor(publisher)
        response = process_partial_response(
            event=event, record_handler=record_events, processor=processor, context=context
        )
        logger.info(
            "stream batch",
            extra={
                "records": len(event.get("Records", [])),
                "failed": len(response.get("batchItemFailures", [])),
                "put_events_calls": publisher.calls,
            },
        )
        return dict(response)

    return cast(Handler, lambda_handler)
