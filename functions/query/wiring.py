"""Wiring: settings and clients in, the Lambda handler out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths

from jobstatus import aws
from jobstatus.observability import logger, metrics
from query.api import create_app
from query.paging import PageTokens
from query.secret import SecretKey, secrets_client
from query.service import JobQueries
from query.settings import QuerySettings
from query.store import READERS, JobReads

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]  # (event, Lambda context) -> response


def build_handler(
    settings: QuerySettings,
    *,
    dynamodb: Any = None,
    secrets: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    """The read handler. Clients default to the deployed ones; pass others (moto, a faulty one) to test."""
    reads = JobReads(
        dynamodb or aws.client("dynamodb", pool=READERS, read_timeout_s=settings.dynamodb_read_timeout_s),
        job_table=settings.job_status_table,
        ledger_table=settings.idempotency_table,
        sleep=sleep,
    )
    key = SecretKey(settings.page_token_secret, (lambda: secrets) if secrets is not None else secrets_client)
    queries = JobQueries(reads, PageTokens(key), silent_after_minutes=settings.silent_after_minutes, clock=clock)
    app = create_app(queries)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return cast(Handler, lambda_handler)
