"""What a change of a current item means: the events it publishes, derived from its old and new images.

No event comes from anywhere but here: the report path's current-item update makes "Job Status
Changed" and "Job Resumed", the silence sweep's mark makes "Job Went Silent". A heartbeat, a
replay and an out-of-order report change no status and no silence, so they publish nothing (and
a write that changed nothing at all, which some DynamoDB implementations still stream, neither;
nor an image that holds no status yet, which moto streams before an UpdateItem's first image).

Each event's id is derived from the change itself, so every copy of one change (a redelivered
stream record, a retried batch) carries the same `event_id`: a consumer drops duplicates by it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from jobstatus import layout, lifecycle

SOURCE = "edgesrv.jobs"
STATUS_CHANGED = "Job Status Changed"
WENT_SILENT = "Job Went Silent"
RESUMED = "Job Resumed"
_IDS = uuid.UUID("8e0f6b0e-5b2c-4f43-9a6a-2f1f0b3c6d1e")  # the namespace of event ids (uuid5)
Image = dict[str, Any]  # a current item, as plain values


@dataclass(frozen=True)
class Event:
    detail_type: str
    detail: dict[str, Any]
    time_ms: int  # when the change happened: the report's receipt, or the moment silence began

    @property
    def event_id(self) -> str:
        return str(self.detail["event_id"])


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_IDS, "|".join(str(p) for p in parts)))


def _reported_at(image: Image) -> int:
    return int(image["reported_at"])


def events_of(old: Image | None, new: Image | None, *, silent_after_minutes: int) -> list[Event]:
    """The events one change of a current item publishes, in the order they happened."""
    if new is None or new == old or "status" not in new:
        return []  # removed, unchanged, or not yet a status (moto streams a keys-only image first)
    if old is not None and "status" not in old:
        old = None
    project_id, job_id = layout.parse_job_pk(str(new["pk"]))
    status, category = str(new["status"]), lifecycle.category_of(str(new["status"]))
    base = {"project_id": project_id, "job_id": job_id, "status": status, "category": category}
    events: list[Event] = []
    silence_on = silent_after_minutes > 0
    is_silent = "silent_since" in new
    if silence_on and old is not None and "silent_since" in old and not is_silent:
        since = int(old["silent_since"])
        detail = {"event_id": _id(new["pk"], RESUMED, since, _reported_at(new))} | base
        events.append(
            Event(RESUMED, detail | {"reported_at": _reported_at(new), "silent_since": since}, _reported_at(new))
        )
    if old is None or old.get("status") != status:
        previous = None if old is None else str(old["status"])
        detail = {"event_id": _id(new["pk"], STATUS_CHANGED, new["create_time"], status)} | base
        detail |= {
            "previous_status": previous,
            "previous_category": None if previous is None else lifecycle.category_of(previous),
            "create_time": new["create_time"],
            "status_since": layout.status_since(new),
            "reported_at": _reported_at(new),
            "message_id": new["message_id"],
        }
        if "exceptions" in new:
            detail["exceptions"] = new["exceptions"]
        elif "exceptions_ref" in new:  # too large for the item, and for an event: read them with GET .../jobs/{job_id}
            detail["exceptions_omitted"] = True
        events.append(Event(STATUS_CHANGED, detail, _reported_at(new)))
    if silence_on and is_silent and (old is None or "silent_since" not in old):
        since = int(new["silent_since"])
        detail = {"event_id": _id(new["pk"], WENT_SILENT, _reported_at(new))} | base
        events.append(Event(WENT_SILENT, detail | {"reported_at": _reported_at(new), "silent_since": since}, since))
    return events
