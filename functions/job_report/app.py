"""Lambda entry point for POST /v1/{project_id}/edgesrv/job-report (template.yaml: app.lambda_handler)."""

import atexit
import gc

# Init builds about 110,000 long-lived objects (botocore's service model, pydantic's validators,
# the resolver). With the cyclic collector on, it scans them again and again while they are
# being created, and later a full collection during a request walks them all (about 100 ms
# here). So collection is off during init, and what init built is then frozen out of every
# later collection. Init leaves under 1,000 unreachable objects behind, which stay. make bench
# measures the effect (docs/performance.md). The finally turns the collector back on even if
# init fails. At a normal interpreter exit (tests, the local API; Lambda never has one) the
# heap is unfrozen first, so that objects only a collection can free are still finalized, and
# a buffered stream such as a redirected stdout is flushed.
gc.disable()
try:
    from typing import Any

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from service.api import create_app
    from service.confirm import ConfirmationPublisher, iot_data_client
    from service.observability import logger, metrics
    from service.report import ReportService
    from service.settings import Settings
    from service.store import JobStatusStore, dynamodb_client

    settings = Settings.from_env()
    store = JobStatusStore(
        dynamodb_client(),
        job_table=settings.job_status_table,
        ledger_table=settings.idempotency_table,
        history_ttl_s=settings.history_retention_days * 86400,
        ledger_ttl_s=settings.ledger_retention_days * 86400,
    )
    publisher = (
        ConfirmationPublisher(iot_data_client(settings.iot_data_endpoint)) if settings.confirm_topic_publish else None
    )
    app = create_app(
        ReportService(
            store,
            max_jobs=settings.max_jobs_per_report,
            publisher=publisher,
            topic_prefix=settings.confirm_topic_prefix,
        )
    )
finally:
    gc.freeze()
    atexit.register(gc.unfreeze)
    gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway always sends the stage; hand-written test events often leave it out, and the
    # resolver needs it to find the route. This API serves only its $default stage.
    request_context = event.setdefault("requestContext", {})
    if isinstance(request_context, dict):
        request_context.setdefault("stage", "$default")
    return app.resolve(event, context)
