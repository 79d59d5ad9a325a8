"""Wiring: settings and clients in, the Lambda handler out. Tests build handlers here instead of reloading a module."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths

from jobstatus import aws
from jobstatus.observability import logger, metrics
from report.api import create_app
from report.confirm import ConfirmationPublisher, iot_data_client
from report.service import ReportService
from report.settings import ReportSettings
from report.store import WRITERS, JobStatusStore

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (event, Lambda context) -> response


def build_handler(
    settings: ReportSettings,
    *,
    dynamodb: Any = None,
    iot_data: Any = None,
    store: JobStatusStore | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    """The report handler. Clients default to the deployed ones; pass others (moto, a faulty one) to test."""
    store = store or JobStatusStore(
        dynamodb or aws.client("dynamodb", pool=WRITERS, read_timeout_s=settings.dynamodb_read_timeout_s),
        job_table=settings.job_status_table,
        ledger_table=settings.idempotency_table,
        history_ttl_s=settings.history_retention_days * 86400,
        ledger_ttl_s=settings.ledger_retention_days * 86400,
        silent_after_minutes=settings.silent_after_minutes,
        keep_heartbeats=settings.keep_heartbeats,
        sleep=sleep,
    )
    publisher = None
    if settings.confirm_topic_publish:
        publisher = ConfirmationPublisher(iot_data or iot_data_client(settings.iot_data_endpoint), sleep=sleep)
    app = create_app(
        ReportService(
            store,
            max_jobs=settings.max_jobs_per_report,
            publisher=publisher,
            topic_prefix=settings.confirm_topic_prefix,
            clock=clock,
        )
    )

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return cast(Handler, lambda_handler)
