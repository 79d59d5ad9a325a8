"""The sweep: which jobs have gone silent since the last run, found without reading the fleet.

Every report files its job's current item in the silence index under the start of reported_at's
bucket (jobstatus.lifecycle), moving it only when it crosses into a new bucket. A job that keeps
reporting is always in a recent bucket; so the buckets that started at or before the cutoff
(now - SilentAfterMinutes) hold only jobs that stopped reporting about that long ago, or before.
Each run reads those, checks each candidate's current item exactly, and
- marks an active job that has been quiet for longer than the threshold (`silent_since` =
  reported_at + threshold), the change the stream turns into "Job Went Silent";
- takes it out of the index, as it does for a job that is not active (finished, failed, ...), so
  that no run reads it again until its next report files it anew;
- leaves a job of the cutoff's own bucket that is not silent yet for the next run.
Each update is conditional on the item being as read, so a report that arrives meanwhile wins.
Read units per run grow with the jobs that are going quiet, not with the fleet; a run that runs out
of time leaves the rest in the index for the next one, so nothing is missed after an outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from jobstatus import lifecycle
from sweep.store import Record, SweepStore


@dataclass
class SweepResult:
    candidates: int = 0
    marked: int = 0  # went silent in this run
    unfiled: int = 0  # out of the index without a mark: not active
    pending: int = 0  # in the cutoff's bucket, not silent yet
    lost_races: int = 0  # a report moved the job between the read and the mark
    left_for_next_run: int = 0  # the time budget ran out, or DynamoDB left their reads unprocessed


class Sweep:
    def __init__(
        self,
        store: SweepStore,
        *,
        silent_after_minutes: int,
        budget_s: float,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._silent_after = silent_after_minutes
        self._budget_s = budget_s
        self._clock = clock
        self._monotonic = monotonic

    def run(self) -> SweepResult:
        result = SweepResult()
        if self._silent_after <= 0:
            return result  # silence is off: nothing is ever silent
        started = self._monotonic()
        now = int(self._clock() * 1000)
        cutoff = now - lifecycle.silence_threshold_ms(self._silent_after)
        pks = self._store.candidates(last_bucket=cutoff)
        result.candidates = len(pks)
        records, unread = self._store.currents(pks)
        result.left_for_next_run += unread  # DynamoDB left them unprocessed: still in the index
        for record in records:
            if self._monotonic() - started > self._budget_s:
                result.left_for_next_run += 1
                continue
            self._settle(record, now, result)
        return result

    def _settle(self, record: Record, now: int, result: SweepResult) -> None:
        category = lifecycle.category_of(record["status"])
        reported_at = int(record.get("reported_at", 0))
        if category not in lifecycle.ACTIVE_CATEGORIES or "silent_since" in record:
            done = self._store.unfile(record)
            result.unfiled += done
            result.lost_races += not done
            return
        since = lifecycle.silent_since(category, reported_at, self._silent_after, now)
        if since is None:
            result.pending += 1
            return
        if self._store.mark_silent(record, since):
            result.marked += 1
        else:
            result.lost_races += 1
