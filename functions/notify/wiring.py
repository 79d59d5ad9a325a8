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

import time
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from jobstatus import aws
from jobstatus.dynamodb import values
from jobstatus.fleet import Counters
from jobstatus.observability import count, logger, metrics
from notify.changes import RESUMED, STATUS_CHANGED, WENT_SILENT, Event, events_of
from notify.publisher import EventPublisher, events_client
from notify.settings import NotifySettings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (event, Lambda context) -> batch response
TYPE_METRICS = {STATUS_CHANGED: "StatusChangedEvents", WENT_SILENT: "WentSilentEvents", RESUMED: "ResumedEvents"}


class Undelivered(Exception):
    """An event of this record, or of an earlier record of the batch, could not be delivered."""


class PublishingProcessor(BatchProcessor):
    """Powertools' DynamoDB streams processor, publishing the whole batch's events together.

    On Powertools' documented extension points ("Extending BatchProcessor"): `_process_record` fails
    every record after the first failure unhandled, as Powertools' own SqsFifoPartialProcessor does;
    `success_handler` keeps each record's events; `_clean`, after every record, publishes them all
    and fails every record from the first one whose events were not delivered.
    """

    def __init__(self, publisher: EventPublisher) -> None:
        super().__init__(event_type=EventType.DynamoDBStreams)
        self._publisher = publisher
        self.published: list[Event] = []  # the events delivered, of the records that succeed
        self.undelivered = 0  # the events of the records failed because one was not delivered
        self._planned: list[tuple[dict[str, Any], list[Event]]] = []

    def _prepare(self) -> None:
        super()._prepare()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self._planned, self.published, self.undelivered = [], [], 0

    def _process_record(self, record: dict[str, Any]) -> tuple[Any, ...]:
        if self.fail_messages:
            return self._fail(record, "an earlier record of the batch failed")
        return cast(tuple[Any, ...], super()._process_record(record))

    def success_handler(self, record: dict[str, Any], result: Any) -> tuple[Any, ...]:
        self._planned.append((record, list(result)))
        return cast(tuple[Any, ...], super().success_handler(record, result))

    def _clean(self) -> None:
        undelivered = self._publisher.publish([event for _, events in self._planned for event in events])
        first = next(
            (i for i, (_, events) in enumerate(self._planned) if any(e.event_id in undelivered for e in events)),
            len(self._planned),
        )
        failed = {id(record) for record, _ in self._planned[first:]}
        self.success_messages[:] = [m for m in self.success_messages if id(m) not in failed]
        for record, _ in self._planned[first:]:
            self._fail(record, "an event was not delivered after retries")
        self.published = [event for _, events in self._planned[:first] for event in events]
        self.undelivered = sum(len(events) for _, events in self._planned[first:])
        # batchItemFailures from every failed record (or, when every record failed, an error)
        super()._clean()  # type: ignore[no-untyped-call]

    def _fail(self, record: dict[str, Any], why: str) -> tuple[Any, ...]:
        error = Undelivered(why)
        return cast(
            tuple[Any, ...], self.failure_handler(record=DynamoDBRecord(record), exception=(Undelivered, error, None))
        )


def count_events(processor: PublishingProcessor) -> None:
    for event in processor.published:
        count(TYPE_METRICS[event.detail_type])
        if event.detail_type == STATUS_CHANGED and event.detail["category"] != event.detail["previous_category"]:
            count(f"JobsEntered{event.detail['category'].title()}")
    count("EventsPublished", len(processor.published))
    if processor.undelivered:
        count("EventsFailed", processor.undelivered)


def build_handler(
    settings: NotifySettings,
    *,
    events: Any = None,
    dynamodb: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    """The stream consumer. Clients default to the deployed ones; pass others (moto, a faulty one) to test."""
    client = events or events_client()
    counters = Counters(
        dynamodb or aws.client("dynamodb", read_timeout_s=settings.dynamodb_read_timeout_s),
        job_table=settings.job_status_table,
        silent_after_minutes=settings.silent_after_minutes,
        sleep=sleep,
    )

    def record_events(record: DynamoDBRecord) -> list[Event]:
        """A record's events, once its change is counted (a failure to count fails the record)."""
        images = record.dynamodb.raw_event if record.dynamodb is not None else {}
        old = values(images["OldImage"]) if images.get("OldImage") else None
        new = values(images["NewImage"]) if images.get("NewImage") else None
        if counters.count(old, new, str(images.get("SequenceNumber", "0"))):
            count("CountsMoved")
        return events_of(old, new, silent_after_minutes=settings.silent_after_minutes)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        publisher = EventPublisher(client, bus_name=settings.event_bus_name, sleep=sleep)
        processor = PublishingProcessor(publisher)
        try:
            response = process_partial_response(
                event=event, record_handler=record_events, processor=processor, context=context
            )
        finally:
            count_events(processor)
            count("PutEventsCalls", publisher.calls)
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
