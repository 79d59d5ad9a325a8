"""The read routes, with validated path and query parameters. Errors are answered by `jobstatus.http`.

Powertools validates types and bounds (`Query`, `Path`); what a type cannot say (comma lists of
known categories, an unknown parameter name, integers in plain decimal digits only, as the report
body's) is checked here, and every refusal is a 400 DLI.0001 that names the parameter.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from jobstatus import lifecycle
from jobstatus.errors import DependencyUnavailable, InvalidRequest, NotFound
from jobstatus.http import Envelope, install_error_handlers, responses
from jobstatus.jsonvalue import dumps
from jobstatus.observability import count, logger
from jobstatus.validation import CONTROL, describe, short
from query.models import HistoryEnvelope, JobEnvelope, JobsEnvelope, ReportEnvelope, SummaryEnvelope
from query.paging import MAX_TOKEN_CHARS
from query.service import JobFilter, JobQueries

JOB = "/v1/<project_id>/edgesrv/jobs/<job_id>"
JOBS = "/v1/<project_id>/edgesrv/jobs"
HISTORY = "/v1/<project_id>/edgesrv/jobs/<job_id>/history"
REPORT = "/v1/<project_id>/edgesrv/job-report"
SUMMARY = "/v1/<project_id>/edgesrv/job-summary"
MESSAGE = "The job status information is successfully queried."
RETRY_MESSAGE = "The request could not be served. Retry it."
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
MAX_REASONS, DEFAULT_REASONS = 100, 10
SUMMARY_MESSAGE = "The job summary is successfully queried."
MAX_LIST_VALUES = 20


def _digits(value: Any) -> Any:
    """Query integers in plain decimal digits, as the report body's: no sign, space, fraction or `_`."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError(
            "int_parsing", "must be an integer in decimal digits, got {value}", {"value": short(value)}
        )
    return value


Digits = Annotated[int, BeforeValidator(_digits)]
Limit = Annotated[Digits, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1..{MAX_LIMIT}")]
Token = Annotated[
    str | None, Query(min_length=1, max_length=MAX_TOKEN_CHARS, description="next_token of the previous page")
]
Time = Annotated[Digits | None, Query(ge=0, le=lifecycle.MAX_CREATE_TIME, description="create_time bound, epoch ms")]
ProjectId = Annotated[str, Path(description="Project ID: 1 to 64 letters or digits")]
JobIdPath = Annotated[str, Path(description=f"Job ID: an integer from 1 to {lifecycle.MAX_JOB_ID}")]


def create_app(queries: JobQueries) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps)

    def answer(envelope: type[Envelope], **payload: Any) -> Response[str]:
        # Numbers exactly as stored (jobstatus.jsonvalue): pydantic's JSON would write a Decimal as a string.
        body = envelope(is_success=True, **({"message": MESSAGE} | payload)).model_dump(exclude_unset=True)
        return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=dumps(body))

    def prepare(project_id: str, allowed: tuple[str, ...]) -> None:
        """Correlation keys for the log lines, the project_id rule, and no parameter this route does not take."""
        logger.append_keys(request_id=app.current_event.request_context.request_id, project_id=project_id[:64])
        if not lifecycle.PROJECT_ID.fullmatch(project_id):
            raise InvalidRequest(lifecycle.PROJECT_ID_RULE)
        unknown = sorted(set(app.current_event.query_string_parameters or {}) - set(allowed))
        if unknown:
            takes = ", ".join(allowed) if allowed else "no parameters"
            raise InvalidRequest(f"{short(unknown[0])}: not a parameter of this route (it takes {takes})")

    @app.get(
        JOB,
        operation_id="getJob",
        summary="A job's current status",
        responses=responses(JobEnvelope, "Found", InvalidRequest, NotFound, DependencyUnavailable),
    )
    def get_job(project_id: ProjectId, job_id: JobIdPath) -> Response[str]:
        prepare(project_id, ())
        job = queries.job(project_id, _job_id(job_id))
        count("JobReads")
        return answer(JobEnvelope, job=job)

    @app.get(
        JOBS,
        operation_id="listJobs",
        summary="A project's jobs, by category, status and silence",
        responses=responses(JobsEnvelope, "Found", InvalidRequest, DependencyUnavailable),
    )
    def list_jobs(
        *,
        project_id: ProjectId,
        category: Annotated[str | None, Query(description="Comma-separated categories")] = None,
        status: Annotated[str | None, Query(description="Comma-separated statuses")] = None,
        silent: Annotated[Literal["true", "false"] | None, Query(description="true or false")] = None,
        limit: Limit = DEFAULT_LIMIT,
        next_token: Token = None,
    ) -> Response[str]:
        prepare(project_id, ("category", "status", "silent", "limit", "next_token"))
        where = JobFilter(
            categories=_categories(category),
            statuses=_statuses(status),
            silent=None if silent is None else silent == "true",
        )
        jobs, token = queries.jobs(project_id, where, limit=limit, token=next_token)
        count("JobListings")
        return answer(JobsEnvelope, jobs=jobs, next_token=token)

    @app.get(
        HISTORY,
        operation_id="getJobHistory",
        summary="A job's reported statuses, newest first",
        responses=responses(HistoryEnvelope, "Found", InvalidRequest, NotFound, DependencyUnavailable),
    )
    def job_history(
        *,
        project_id: ProjectId,
        job_id: JobIdPath,
        since: Time = None,
        until: Time = None,
        limit: Limit = DEFAULT_LIMIT,
        next_token: Token = None,
    ) -> Response[str]:
        prepare(project_id, ("since", "until", "limit", "next_token"))
        low, high = since if since is not None else 0, until if until is not None else lifecycle.MAX_CREATE_TIME
        if low > high:
            raise InvalidRequest(f"since: must not be after until ({low} > {high})")
        history, token = queries.history(
            project_id, _job_id(job_id), since=low, until=high, limit=limit, token=next_token
        )
        count("HistoryReads")
        return answer(HistoryEnvelope, history=history, next_token=token)

    @app.get(
        REPORT,
        operation_id="getReport",
        summary="Whether a report (by message_id) was stored",
        responses=responses(ReportEnvelope, "Found", InvalidRequest, NotFound, DependencyUnavailable),
    )
    def report_status(
        project_id: ProjectId,
        message_id: Annotated[str, Query(min_length=1, max_length=128, description="The report's message_id")],
    ) -> Response[str]:
        prepare(project_id, ("message_id",))
        if CONTROL.search(message_id):
            raise InvalidRequest("message_id: must not contain control characters")
        report = queries.report(project_id, message_id)
        count("ReportLookups")
        return answer(ReportEnvelope, report=report)

    @app.get(
        SUMMARY,
        operation_id="getJobSummary",
        summary="A project's jobs at a glance: counts by category and status, silent jobs, why jobs fail",
        responses=responses(SummaryEnvelope, "Found", InvalidRequest, DependencyUnavailable),
    )
    def job_summary(
        project_id: ProjectId,
        limit: Annotated[
            Digits, Query(ge=1, le=MAX_REASONS, description=f"Failure reasons listed, 1..{MAX_REASONS}")
        ] = DEFAULT_REASONS,
    ) -> Response[str]:
        prepare(project_id, ("limit",))
        summary = queries.summary(project_id, limit=limit)
        count("SummaryReads")
        return answer(SummaryEnvelope, summary=summary, message=SUMMARY_MESSAGE)

    refuse = install_error_handlers(app, retry_message=RETRY_MESSAGE, refused_log="request refused")

    @app.exception_handler(RequestValidationError)
    def invalid_parameter(exc: RequestValidationError) -> Response[Any]:
        # Powertools' location is ("query" | "path", name): the parameter's name is what the caller needs.
        return refuse(InvalidRequest(describe(exc.errors(), skip=1)))

    return app


def _job_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= lifecycle.MAX_JOB_ID:
        raise InvalidRequest(f"job_id: must be an integer from 1 to {lifecycle.MAX_JOB_ID}, got {short(text)}")
    return int(text)


def _values(name: str, text: str | None) -> list[str] | None:
    if text is None:
        return None
    values = [value.strip() for value in text.split(",")]
    if not all(values):
        raise InvalidRequest(f"{name}: an empty value in the comma-separated list")
    if len(values) > MAX_LIST_VALUES:
        raise InvalidRequest(f"{name}: at most {MAX_LIST_VALUES} values, got {len(values)}")
    return values


def _categories(text: str | None) -> frozenset[str] | None:
    values = _values("category", text)
    if values is None:
        return None
    for value in values:
        if value not in lifecycle.CATEGORY_STATUSES:
            raise InvalidRequest(
                f"category: unknown category {short(value)!r} (one of: {', '.join(lifecycle.CATEGORIES)})"
            )
    return frozenset(values)


def _statuses(text: str | None) -> frozenset[str] | None:
    values = _values("status", text)
    if values is None:
        return None
    for value in values:
        if not lifecycle.STATUS.fullmatch(value):
            raise InvalidRequest(f"status: {short(value)!r} is not a status (1 to 64 of A-Z a-z 0-9 _ . -)")
    return frozenset(values)
