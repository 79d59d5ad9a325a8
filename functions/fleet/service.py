"""The fleet summary's upkeep: the fleet's metrics, and trust but verify: a recount that finds drift and repairs it.

Metrics (every minute): the jobs of the whole fleet in each category, the silent ones, and the top
failure reasons, as gauges, from every project's summary items (jobstatus.fleet); each project's
own too, with a project_id dimension, where PerProjectMetrics asks for them (each dimension value is
a billed metric: docs/capacity.md says what that costs).

Audit (every day, or `python -m fleet audit`): a project's counters against a recount of its current
items. Drift is what they disagree by, counter by counter. Records still on their way through the
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

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from fleet.store import FleetStore
from jobstatus import layout
from jobstatus.fleet import Counted, Summary, deltas, marker_state, summarize
from jobstatus.observability import metrics

COUNTERS = ("jobs", "silent", "c#", "s#", "r#")
# Records still on their way through the stream look like drift: measured again after this pause. The
# events function's batching window is at most a few seconds; 30 s leaves room for a retry.
SETTLE_S = 30.0


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
        result = Audit(project_id)
        drift, actual = self._drift(project_id)
        if drift and self._settle_s:
            self._sleep(self._settle_s)  # records on their way through the stream are not drift
            drift, actual = self._drift(project_id)
        result.jobs, result.drift = len(actual), sum(abs(v) for v in drift.values())
        if repair and result.drift:
            markers = self._store.markers(list(actual))
            for pk, state in actual.items():
                marker = markers.get(pk)
                if marker_state(marker) != state and self._store.counters.repair(pk, marker, state):
                    result.markers_repaired += 1
            left, _ = self._drift(project_id)
            for shard_pk, change in _by_shard(left).items():
                self._store.add(shard_pk, change)
                result.counters_repaired += len(change)
            for item in self._store.shards(project_id):
                zeros = [name for name, value in item.items() if name.startswith(COUNTERS[2:]) and value == 0]
                if zeros:
                    self._store.drop_zeros(str(item["pk"]), zeros)
            after, _ = self._drift(project_id)
            result.drift_after = sum(abs(v) for v in after.values())
        else:
            result.drift_after = result.drift
        return result

    def _drift(self, project_id: str) -> tuple[dict[tuple[str, str], int], dict[str, Counted | None]]:
        """(what each shard's counter lacks against a recount, by (shard pk, counter); each job's count)."""
        actual = {str(item["pk"]): self._store.counters.counted(item) for item in self._store.currents(project_id)}
        recount: Counter[tuple[str, str]] = Counter()
        for pk, state in actual.items():
            shard_pk = layout.summary_pk(project_id, layout.category_shard(layout.parse_job_pk(pk)[1]))
            for name, value in deltas(None, state).items():
                recount[(shard_pk, name)] += value
        kept: Counter[tuple[str, str]] = Counter()
        for item in self._store.shards(project_id):
            for name, value in item.items():
                if name.startswith(COUNTERS):
                    kept[(str(item["pk"]), name)] += int(value)
        drift = {key: recount[key] - kept[key] for key in recount.keys() | kept.keys() if recount[key] != kept[key]}
        return drift, actual


def _by_shard(drift: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for (shard_pk, name), value in drift.items():
        found.setdefault(shard_pk, {})[name] = value
    return found
