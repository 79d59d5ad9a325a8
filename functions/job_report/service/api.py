"""The HTTP API route and the one place where domain errors become HTTP responses."""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from service.errors import DependencyUnavailable, InvalidReport, PayloadConflict, ReportError, ReportTooLarge
from service.observability import count, logger
from service.report import ReportService

ROUTE = "/v1/<project_id>/edgesrv/job-report"
SUCCESS_MESSAGE = "The IEF Flink job status information is successfully reported."
SERVER_ERROR_CODE = "DLI.0999"

# One status, one DLI error code and one metric per domain exception.
ERRORS: dict[type[ReportError], tuple[HTTPStatus, str, str]] = {
    InvalidReport: (HTTPStatus.BAD_REQUEST, "DLI.0001", "ValidationErrors"),
    ReportTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "DLI.0009", "OversizedRejections"),
    PayloadConflict: (HTTPStatus.UNPROCESSABLE_ENTITY, "DLI.0006", "Conflicts"),
    DependencyUnavailable: (HTTPStatus.SERVICE_UNAVAILABLE, SERVER_ERROR_CODE, "DependencyFaults"),
}
# 5xx messages never say what failed inside; they say what the caller should do.
RETRY_MESSAGE = "The report was not stored completely. Retry it with the same message_id."


def envelope(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"is_success": False, "message": message, "error_code": code, "error_msg": message},
        headers=headers,
    )


def create_app(service: ReportService) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.post(ROUTE)
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
            body={"is_success": True, "message": SUCCESS_MESSAGE},
            headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
        )

    @app.exception_handler(ReportError)
    def report_error(exc: ReportError) -> Response[Any]:
        status, code, metric = ERRORS[type(exc)]
        count(metric)
        if status >= 500:
            logger.warning("dependency fault, answered retryable", extra={"fault": exc.message})
            return envelope(status, RETRY_MESSAGE, code, {"Retry-After": "1"})
        logger.info("report refused", extra={"status": int(status), "error_code": code, "reason": exc.message})
        return envelope(status, exc.message, code)

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected fault")
        count("UnexpectedErrors")
        return envelope(HTTPStatus.INTERNAL_SERVER_ERROR, RETRY_MESSAGE, SERVER_ERROR_CODE)

    @app.not_found
    def not_found(exc: NotFoundError) -> Response[Any]:
        # What API Gateway HTTP APIs answer for an unknown route or method.
        return Response(status_code=404, content_type=content_types.APPLICATION_JSON, body={"message": "Not Found"})

    return app


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidReport("body: isBase64Encoded is set but the body is not valid base64") from None
    # surrogatepass: a string that is not valid Unicode reaches the parser, which refuses it with a 400.
    return body.encode("utf-8", "surrogatepass")
