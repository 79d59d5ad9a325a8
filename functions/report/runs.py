"""Status runs: which of a report's statuses of one job the history keeps, and how its current item moves.

A job's history keeps changes, not heartbeats. A status is a heartbeat when, as its report is
applied, it is newer than the job's current status and repeats it exactly: the same status and the
same content in every other field (`run`, a digest of the job's canonical form without create_time
and job_id). Every other status is kept: a job's first status, a new status, the same status with
other content, an older or out-of-order status. The current item carries `status_since`, the
create_time of the status that opened its run.

`plan` decides this for the statuses of one job in one report, given the job's current status as
it was read before the report's writes (phase 1, beside the ledger): the statuses newer than it
are taken in order, each one a heartbeat of the one before it (the current status, for the first)
or a change; those older are kept, as out-of-order statuses always are. A replay keeps only what
its first attempt kept: an older status is then `checked` against the history (is the run it
belongs to recorded at or before it? then it was a heartbeat, or is there already), and the
current status's own time is kept again only if it opened its run (the first attempt may have
stopped between its writes). Pure, so that every case is a unit test (tests/unit/test_runs.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from jobstatus.jsonvalue import canonical


def run_of(job: dict[str, Any]) -> str:
    """What a status says, as a digest: its canonical form without create_time and job_id."""
    content = {name: value for name, value in job.items() if name not in ("create_time", "job_id")}
    return hashlib.sha256(canonical(content).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Status:
    """One status of a job: when, its tie order, and what it says."""

    create_time: int
    rank: str  # jobstatus.lifecycle.status_rank: the order of statuses at the same create_time
    run: str  # digest of its content: status and every field but create_time and job_id

    @property
    def order(self) -> tuple[int, str]:
        return self.create_time, self.rank


@dataclass(frozen=True, slots=True)
class Current(Status):
    """The job's current status, as its current item holds it."""

    status_since: int | None


@dataclass
class Plan:
    """What one report does to one job: by position in its (sorted) statuses."""

    keep: list[int] = field(default_factory=list)  # statuses the history keeps
    check: list[int] = field(default_factory=list)  # older statuses of a replay, kept unless their run is recorded
    update: Literal["none", "heartbeat", "change"] = "none"  # the current item, moved by the newest status
    since: int | None = None  # status_since after a change


def plan(statuses: list[Status], current: Current | None, *, keep_heartbeats: bool, replay: bool) -> Plan:
    """The plan for one job's statuses of a report, sorted by (create_time, rank, run)."""
    result = Plan()
    previous: Status | None = current
    changed_at: int | None = None
    for position, status in enumerate(statuses):
        if current is not None and status.order < current.order:
            (result.check if replay and not keep_heartbeats else result.keep).append(position)
        elif current is not None and status.order == current.order:
            if status.run != current.run:  # other content at the same time and status: it lost the tie
                result.keep.append(position)
            elif keep_heartbeats or current.status_since == status.create_time:
                result.keep.append(position)  # the current status itself: kept again if it opened its run
        else:
            if previous is None or previous.run != status.run:
                changed_at = status.create_time
                result.keep.append(position)
            elif keep_heartbeats:
                result.keep.append(position)
            previous = status
    newest = statuses[-1]
    if current is None or newest.order > current.order:
        result.update = "heartbeat" if changed_at is None else "change"
        result.since = changed_at
    return result
