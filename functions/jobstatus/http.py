"""The one place where domain errors become HTTP responses, for every function behind the HTTP API.

Each exception maps to one status, one DLI error code and one metric. A 5xx never says what
failed inside: it says what the caller should do (`retry_message`).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from jobstatus.errors import (
    DependencyUnavailable,
    InvalidRequest,
    NotFound,
    PayloadConflict,
    PayloadTooLarge,
    ServiceError,
)
from jobstatus.observability import count, logger

SERVER_ERROR_CODE = "DLI.0999"
ERRORS: dict[type[ServiceError], tuple[HTTPStatus, str, str]] = {
    InvalidRequest: (HTTPStatus.BAD_REQUEST, "DLI.0001", "ValidationErrors"),
    NotFound: (HTTPStatus.NOT_FOUND, "DLI.0002", "NotFound"),
    PayloadTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "DLI.0009", "OversizedRejections"),
    PayloadConflict: (HTTPStatus.UNPROCESSABLE_ENTITY, "DLI.0006", "Conflicts"),
    DependencyUnavailable: (HTTPStatus.SERVICE_UNAVAILABLE, SERVER_ERROR_CODE, "DependencyFaults"),
}
# What API Gateway HTTP APIs answer for an unknown route or method; the functions answer the same.
NOT_FOUND_BODY = {"message": "Not Found"}


def error_body(message: str, code: str) -> dict[str, Any]:
    """DLI's common error body merged into the envelope, so that clients of either kind can read it."""
    return {"is_success": False, "message": message, "error_code": code, "error_msg": message}


def envelope(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(message, code),
        headers=headers,
    )


def install_error_handlers(
    app: APIGatewayHttpResolver, *, retry_message: str, refused_log: str
) -> Callable[[ServiceError], Response[Any]]:
    """Domain errors, unexpected faults and unknown routes, answered the same way by every function.

    `refused_log` is the message of the INFO line logged for a 4xx (docs/operations.md queries it).
    Returns the function that answers a domain error, for handlers of other exceptions to use.
    """

    @app.exception_handler(ServiceError)
    def service_error(exc: ServiceError) -> Response[Any]:
        status, code, metric = ERRORS[type(exc)]
        count(metric)
        if status >= 500:
            logger.warning("dependency fault, answered retryable", extra={"fault": exc.message})
            return envelope(status, retry_message, code, {"Retry-After": "1"})
        logger.info(refused_log, extra={"status": int(status), "error_code": code, "reason": exc.message})
        return envelope(status, exc.message, code)

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected fault")
        count("UnexpectedErrors")
        return envelope(HTTPStatus.INTERNAL_SERVER_ERROR, retry_message, SERVER_ERROR_CODE)

    @app.not_found
    def not_found(exc: NotFoundError) -> Response[Any]:
        return Response(status_code=404, content_type=content_types.APPLICATION_JSON, body=NOT_FOUND_BODY)

    return cast(Callable[[ServiceError], Response[Any]], service_error)
