"""Wiring: settings and clients in, the scheduled handler out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, cast

from jobstatus import aws
from jobstatus.observability import count, logger, metrics
from sweep.service import Sweep
from sweep.settings import SweepSettings
from sweep.store import WORKERS, SweepStore

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (scheduled event, Lambda context) -> summary


def build_handler(settings: SweepSettings, *, dynamodb: Any = None, clock: Callable[[], float] = time.time) -> Handler:
    sweep = Sweep(
        SweepStore(
            dynamodb or aws.client("dynamodb", pool=WORKERS, read_timeout_s=settings.dynamodb_read_timeout_s),
            job_table=settings.job_status_table,
        ),
        silent_after_minutes=settings.silent_after_minutes,
        budget_s=settings.budget_s,
        clock=clock,
    )

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        result = sweep.run()
        count("SweepCandidates", result.candidates)
        count("JobsWentSilent", result.marked)
        count("SweepUnfiled", result.unfiled)
        if result.left_for_next_run:
            count("SweepLeftForNextRun", result.left_for_next_run)
        summary = asdict(result)
        logger.info("silence sweep", extra=summary)
        return summary

    return cast(Handler, lambda_handler)
