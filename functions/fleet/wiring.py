"""Wiring: settings and clients in, the scheduled handler out (template.yaml gives each schedule its task)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, cast

from fleet.service import SETTLE_S, Fleet
from fleet.settings import FleetSettings
from fleet.store import WORKERS, FleetStore
from jobstatus import aws
from jobstatus.observability import count, logger, metrics

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (scheduled event, Lambda context) -> what it did


def build_fleet(
    settings: FleetSettings,
    *,
    dynamodb: Any = None,
    settle_s: float = SETTLE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Fleet:
    store = FleetStore(
        dynamodb or aws.client("dynamodb", pool=WORKERS, read_timeout_s=settings.dynamodb_read_timeout_s),
        job_table=settings.job_status_table,
        silent_after_minutes=settings.silent_after_minutes,
        sleep=sleep,
    )
    return Fleet(
        store,
        per_project_metrics=settings.per_project_metrics,
        top_reasons=settings.top_reasons,
        settle_s=settle_s,
        sleep=sleep,
    )


def build_handler(
    settings: FleetSettings, *, dynamodb: Any = None, sleep: Callable[[float], None] = time.sleep
) -> Handler:
    fleet = build_fleet(settings, dynamodb=dynamodb, sleep=sleep)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("task") == "audit":  # every day: recount every project, repair what drifted
            audits, failed = [], []
            for project_id in fleet.projects():
                try:
                    audits.append(fleet.audit(project_id, repair=True))
                except Exception:  # noqa: BLE001 - one project's fault must not leave the projects after it unaudited
                    logger.exception("summary audit failed", extra={"project_id": project_id})
                    failed.append(project_id)
            count("SummaryDrift", sum(a.drift for a in audits))
            count("SummaryDriftAfterRepair", sum(a.drift_after for a in audits))
            for audit in audits:
                if audit.drift:
                    logger.warning("summary drift repaired", extra=asdict(audit))
            logger.info("summary audit", extra={"projects": len(audits), "failed": len(failed)})
            if failed:  # the invocation fails, so that FleetErrors tells
                raise RuntimeError(
                    f"the summary audit failed for {len(failed)} of {len(audits) + len(failed)} projects"
                )
            return {"projects": len(audits), "drift": sum(a.drift for a in audits)}
        projects = fleet.publish()  # every minute: the fleet's gauges
        return {"projects": projects}

    return cast(Handler, lambda_handler)
