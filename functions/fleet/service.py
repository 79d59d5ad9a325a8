"""The fleet summary's upkeep: the fleet's metrics, and trust but verify: a recount that finds drift and repairs it.

Metrics (every minute): the jobs of the whole fleet in each category, the silent ones, and the top
failure reasons, as gauges, from every project's summary items (jobstatus.fleet); each project's
own too, with a project_id dimension, where PerProjectMetrics asks for them (each dimension value is
a billed metric: docs/capacity.md says what that costs).

Audit (every day, or `python -m fleet audit`): a project's counters against a recount of its current
items, shard by shard (a summary shard counts the jobs of one category index partition, so a run
holds a sixteenth of the project's items at a time). Drift is what they disagree by, counter by
counter. Records still on their way through the
stream look like drift for a moment, so drift is measured again after a pause before it counts. To
repair, each job whose marker says other than its current item is counted as its current item says
(the same transaction as the stream's, conditional on the marker as read), then what the counters
still lack is added to them, and counters that fell to 0 are removed. Drift, before and after, is a
metric (SummaryDrift) with an alarm.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from fleet.store import FleetStore
from jobstatus import layout
from jobstatus.fleet import PER_VALUE, REASON, Counted, Summary, deltas, is_counter, marker_state, strings_of, summarize
from jobstatus.fleet import names as reason_names
from jobstatus.observability import metrics

# Records still on their way through the stream look like drift: measured again after this pause. The
# events function's batching window is at most a few seconds; 30 s leaves room for a retry.
SETTLE_S = 30.0
MARKER_ROUNDS = 3


@dataclass
class Audit:
    project_id: str
    jobs: int = 0  # current items recounted
    drift: int = 0  # by how much the counters and the recount disagree, summed over counters
    markers_repaired: int = 0  # jobs counted anew as their current item says
    counters_repaired: int = 0  # counters corrected beyond that
    drift_after: int = 0


class Fleet:
    def __init__(
        self,
        store: FleetStore,
        *,
        per_project_metrics: bool,
        top_reasons: int,
        settle_s: float = SETTLE_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._per_project = per_project_metrics
        self._top = top_reasons
        self._settle_s = settle_s
        self._sleep = sleep

    # --- metrics -------------------------------------------------------------------------------------

    def publish(self) -> int:
        """Every project's summary as gauges (the fleet's, and each project's where asked); the projects."""
        summaries = self._store.summaries()
        fleet = summarize([item for items in summaries.values() for item in items], limit=self._top)
        self._gauges(fleet, {})
        if self._per_project:
            for project_id, items in summaries.items():
                self._gauges(summarize(items, limit=self._top), {"project_id": project_id})
        return len(summaries)

    def _gauges(self, summary: Summary, dimensions: dict[str, str]) -> None:
        def gauge(name: str, value: int, **extra: str) -> None:
            with single_metric(
                name=name,
                unit=MetricUnit.Count,
                value=float(value),
                namespace=metrics.namespace,
                default_dimensions=dimensions | extra,
            ):
                pass

        for category, jobs in summary.categories.items():
            gauge("FleetJobs", jobs, category=category)
        gauge("FleetSilentJobs", summary.silent)
        for reason in summary.failure_reasons:
            gauge("FleetFailedJobs", reason.jobs, reason=f"{reason.error_type}/{reason.error_id}")

    # --- audit ---------------------------------------------------------------------------------------

    def projects(self) -> list[str]:
        return sorted(self._store.summaries())

    def audit(self, project_id: str, *, repair: bool) -> Audit:
        """Recount a project shard by shard (a summary shard counts the jobs of one category index
        partition), so that only a sixteenth of its current items is held at a time."""
        result = Audit(project_id)
        drifted = []
        for shard in range(layout.CATEGORY_SHARDS):
            drift, actual, kept = self._drift(project_id, shard)
            result.jobs += len(actual)
            if drift:
                drifted.append(shard)
            elif repair:
                self._drop_zeros(project_id, shard, kept)
        if drifted and self._settle_s:
            self._sleep(self._settle_s)  # records on their way through the stream are not drift
        for shard in drifted:
            drift, actual, _ = self._drift(project_id, shard)
            found = sum(abs(v) for v in drift.values())
            result.drift += found
            if repair and found:
                self._repair(project_id, shard, drift, actual, result)
                drift, _, _ = self._drift(project_id, shard)
            result.drift_after += sum(abs(v) for v in drift.values())
        return result

    def _repair(
        self, project_id: str, shard: int, drift: dict[str, int], actual: dict[str, Counted | None], result: Audit
    ) -> None:
        """Repair a shard whose counters drifted by `drift` from `actual` (its jobs' counts, as read)."""
        # Each job whose marker says other than its current item is counted anew. The markers are read
        # after the current items, so a job counted by the stream in between looks wrong for a moment
        # and is set back: the items are read again, until a round finds every marker right.
        left = drift
        for _ in range(MARKER_ROUNDS):
            markers = self._store.markers(list(actual))
            wrong = {pk: state for pk, state in actual.items() if marker_state(markers.get(pk)) != state}
            if not wrong:
                break
            for pk, state in wrong.items():
                if self._store.counters.repair(pk, markers.get(pk), state):
                    result.markers_repaired += 1
            left, actual, _ = self._drift(project_id, shard)
        # What the markers do not explain (a counter edited by hand) is added only where it holds still
        # over a pause: a job changing right now, its record on its way, looks the same for a moment,
        # and its record would then count it again.
        if left:
            if self._settle_s:
                self._sleep(self._settle_s)
            again, recounted, _ = self._drift(project_id, shard)
            left = {name: n for name, n in left.items() if again.get(name) == n}
            if left:
                strings: dict[str, str] = {}
                for state in recounted.values():
                    strings |= reason_names(state)
                wanted = {
                    strings_of(name): strings[strings_of(name)]
                    for name in left
                    if name.startswith(REASON) and strings_of(name) in strings
                }
                self._store.add(layout.summary_pk(project_id, shard), left, wanted)
                result.counters_repaired += len(left)
        self._drop_zeros(project_id, shard, self._store.shard(project_id, shard))

    def _drop_zeros(self, project_id: str, shard: int, counters: dict[str, Any]) -> None:
        """Remove a shard's counters that fell to 0, and their reasons' strings: every reason ever
        counted would otherwise stay, until the item outgrew DynamoDB's 400 KB."""
        zeros = [name for name, value in counters.items() if name.startswith(PER_VALUE) and value == 0]
        if zeros:
            self._store.drop_zeros(layout.summary_pk(project_id, shard), zeros)

    def _drift(self, project_id: str, shard: int) -> tuple[dict[str, int], dict[str, Counted | None], dict[str, Any]]:
        """(what a summary shard's counters lack against a recount of its jobs, by counter; each job's
        count; the shard's item as read)."""
        actual = {
            str(item["pk"]): self._store.counters.counted(item) for item in self._store.currents(project_id, shard)
        }
        recount: Counter[str] = Counter()
        for state in actual.values():
            recount.update(deltas(None, state))
        held = self._store.shard(project_id, shard)
        kept = Counter({name: int(value) for name, value in held.items() if is_counter(name)})
        drift = {
            name: recount[name] - kept[name] for name in recount.keys() | kept.keys() if recount[name] != kept[name]
        }
        return drift, actual, held
