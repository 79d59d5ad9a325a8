"""The report route: POST /v1/{project_id}/edgesrv/job-report. Errors are answered by `jobstatus.http`."""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from jobstatus.errors import DependencyUnavailable, InvalidRequest, PayloadConflict, PayloadTooLarge
from jobstatus.http import Envelope, install_error_handlers, responses
from jobstatus.observability import count, logger
from report.service import ReportService

ROUTE = "/v1/<project_id>/edgesrv/job-report"
SUCCESS_MESSAGE = "The IEF Flink job status information is successfully reported."
# 5xx messages never say what failed inside; they say what the caller should do.
RETRY_MESSAGE = "The report was not stored completely. Retry it with the same message_id."
ACCEPTED = Envelope(is_success=True, message=SUCCESS_MESSAGE).model_dump()


def create_app(service: ReportService) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.post(
        ROUTE,
        operation_id="reportJobStatus",
        summary="Report the status of edge Flink jobs",
        responses=responses(
            Envelope,
            "Stored, or a replay of a stored report (then Idempotent-Replayed: true)",
            InvalidRequest,
            PayloadTooLarge,
            PayloadConflict,
            DependencyUnavailable,
            body=True,
            headers={"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
        ),
    )
    def job_report(project_id: str) -> Response[Any]:
        event = app.current_event.raw_event
        # Correlation keys on every line from here on; never any part of the body's text.
        logger.append_keys(request_id=event.get("requestContext", {}).get("requestId"), project_id=project_id[:64])
        report = service.parse(project_id, _raw_body(event))
        logger.append_keys(message_id=report.message_id, job_count=len(report.jobs))
        outcome = service.accept(project_id, report)
        count("Replays" if outcome.replayed else "ReportsAccepted")
        if not outcome.replayed:
            count("JobsStored", outcome.stored)
        if outcome.unknown_statuses:
            count("UnknownStatuses", outcome.unknown_statuses)
        if outcome.confirmed is not None:
            count("ConfirmationsPublished" if outcome.confirmed else "ConfirmationFailures")
            if not outcome.confirmed:
                logger.warning(
                    "confirmation publish failed; the report is stored",
                    extra={"topic_bytes": len((report.msg_confirm_topic or "").encode())},
                )
        logger.info("report replayed" if outcome.replayed else "report stored", extra={"stored": outcome.stored})
        return Response(
            status_code=HTTPStatus.OK,
            content_type=content_types.APPLICATION_JSON,
            body=ACCEPTED,
            headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
        )

    install_error_handlers(app, retry_message=RETRY_MESSAGE, refused_log="report refused")
    return app


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("body: isBase64Encoded is set but the body is not valid base64") from None
    # surrogatepass: a string that is not valid Unicode reaches the parser, which refuses it with a 400.
    return body.encode("utf-8", "surrogatepass")
