"""The one place where domain errors become HTTP responses, for every function behind the HTTP API.

Each exception maps to one status, one DLI error code and one metric. A 5xx never says what
failed inside: it says what the caller should do (`retry_message`). `responses` turns the errors a
route raises into the route's documented answers, declared on its decorator: the OpenAPI document
is generated from the routes (devkit/openapi.py).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel, Field

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
# What it answers for a request over Lambda's 6 MB invoke limit, which never reaches the function.
TOO_LARGE_BODY = {"message": "Request Entity Too Large"}


class Envelope(BaseModel):
    """The standard envelope of every answer of the functions."""

    is_success: bool = Field(description="true, or false for an error")
    message: str


class ErrorEnvelope(Envelope):
    """DLI's common error body merged into the envelope."""

    error_code: str = Field(description="DLI error code")
    error_msg: str = Field(description="The same as message, for DLI clients")


class GatewayMessage(BaseModel):
    """What API Gateway answers by itself, before or instead of the function: {"message": "Not Found"}, ..."""

    message: str = Field(examples=[NOT_FOUND_BODY["message"]])


def responses(
    ok: type[BaseModel],
    description: str,
    *raised: type[ServiceError],
    body: bool = False,
    headers: dict[str, Any] | None = None,
) -> dict[int, Any]:
    """A route's answers, for its decorator: `ok`, the domain errors its use case raises (ERRORS), the
    500 every route may give, and what API Gateway answers by itself: 404 for a path no route has,
    and for a route with a `body`, 413 for a request over 6 MB."""
    json = "application/json"

    def error(code: str, status: int) -> dict[str, Any]:
        retry = " - retry (with the same message_id)" if status >= 500 else ""
        example = {"is_success": False, "message": "...", "error_code": code, "error_msg": "..."}
        return {
            "description": f"{code}{retry}",
            "content": {json: {"model": ErrorEnvelope, "examples": {code: {"value": example}}}},
        }

    answers: dict[int, Any] = {200: {"description": description, "content": {json: {"model": ok}}}}
    if headers:
        answers[200]["headers"] = headers
    for kind in (*raised, Exception):
        status, code = (int(ERRORS[kind][0]), ERRORS[kind][1]) if kind in ERRORS else (500, SERVER_ERROR_CODE)
        answers[status] = error(code, status)
    gateway = {404: ("an unknown route", NOT_FOUND_BODY)} | (
        {413: ("a request over 6 MB", TOO_LARGE_BODY)} if body else {}
    )
    for status, (what, answer) in gateway.items():
        own = answers.get(status)
        answers[status] = {
            "description": f"{own['description']}; or, from API Gateway, {what}" if own else f"{what} (API Gateway)",
            "content": {
                json: {
                    "model": ErrorEnvelope | GatewayMessage if own else GatewayMessage,
                    "examples": {"gateway": {"value": answer}},
                }
            },
        }
    return dict(sorted(answers.items()))


def error_body(message: str, code: str) -> dict[str, Any]:
    """DLI's common error body merged into the envelope, so that clients of either kind can read it."""
    return ErrorEnvelope(is_success=False, message=message, error_code=code, error_msg=message).model_dump()


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
