"""EventBridge PutEvents: 10 entries a call, within its size limit, and the entries that fail retried alone.

PutEvents can succeed as a call and fail for some entries (FailedEntryCount, an ErrorCode per
entry): those entries, and only those, are sent again, a bounded number of times with backoff.
What still fails is returned, so that the stream records it came from fail and are retried by
Lambda, then kept in the on-failure queue: an event is never dropped silently.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobstatus.aws import backoff_s, client
from jobstatus.jsonvalue import dumps
from jobstatus.observability import logger
from notify.changes import SOURCE, Event

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
ATTEMPTS = 4
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.1, 1.0


def events_client() -> Any:
    return client("events", read_timeout_s=3)


def entry_size(entry: dict[str, Any]) -> int:
    """How EventBridge counts an entry against the 256 KB of a request."""
    size = 14 if "Time" in entry else 0
    size += sum(len(entry[name].encode()) for name in ("Source", "DetailType", "Detail") if name in entry)
    return size + sum(len(resource.encode()) for resource in entry.get("Resources", []))


def chunks(entries: list[tuple[str, dict[str, Any]]]) -> Iterable[list[tuple[str, dict[str, Any]]]]:
    """At most 10 entries and 256 KB a call, in order."""
    chunk: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for pair in entries:
        grown = size + entry_size(pair[1])
        if chunk and (len(chunk) == MAX_ENTRIES or grown > MAX_REQUEST_BYTES):
            yield chunk
            chunk, grown = [], entry_size(pair[1])
        chunk.append(pair)
        size = grown
    if chunk:
        yield chunk


class EventPublisher:
    def __init__(self, client: Any, *, bus_name: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._bus = bus_name
        self._sleep = sleep
        self.calls = 0  # PutEvents calls made, for the metrics and the benchmark

    def entry(self, event: Event) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": event.detail_type,
            "Detail": dumps(event.detail),
            "EventBusName": self._bus,
            "Time": datetime.fromtimestamp(event.time_ms / 1000, UTC),
        }

    def publish(self, events: list[Event]) -> set[str]:
        """Send every event; the event_ids of those still undelivered after the retries."""
        pending = [(event.event_id, self.entry(event)) for event in events]
        for attempt in range(ATTEMPTS):
            failed: list[tuple[str, dict[str, Any]]] = []
            for chunk in chunks(pending):
                failed += self._put(chunk)
            if not failed:
                return set()
            pending = failed
            if attempt + 1 < ATTEMPTS:
                # Jitter spreads retries out; it guards nothing, so a non-cryptographic generator is right.
                self._sleep(backoff_s(attempt, BACKOFF_BASE_S, BACKOFF_CAP_S))
        return {event_id for event_id, _ in pending}

    def _put(self, chunk: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        self.calls += 1
        try:
            response = self._client.put_events(Entries=[entry for _, entry in chunk])
        except (ClientError, BotoCoreError) as exc:  # the whole call failed, after botocore's own retries
            logger.warning("PutEvents failed", extra={"error": type(exc).__name__, "entries": len(chunk)})
            return chunk
        results = response.get("Entries", [])
        failed = [pair for pair, result in zip(chunk, results, strict=False) if "ErrorCode" in result]
        failed += chunk[len(results) :]  # entries EventBridge did not answer for
        if failed:
            codes = sorted({r["ErrorCode"] for r in results if "ErrorCode" in r})
            logger.warning("PutEvents entries failed", extra={"failed": len(failed), "codes": codes})
        return failed
