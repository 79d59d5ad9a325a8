"""What the read routes answer: a job, a history entry, a report record, and their envelopes.

The use cases return these models and the routes declare them (query.api), from which the OpenAPI
document is generated. Numbers stay exact: a stored number comes back as it was stored (int or
Decimal, written by jobstatus.jsonvalue), so the free-form fields are typed Any.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from jobstatus import lifecycle
from jobstatus.fleet import Summary
from jobstatus.http import Envelope

Category = Annotated[
    str, Field(description=", ".join(lifecycle.CATEGORIES), json_schema_extra={"enum": list(lifecycle.CATEGORIES)})
]
TextOrObject = str | dict[str, Any]


class Job(BaseModel):
    """A job's current status."""

    job_id: int = Field(description="1..2^63-1")
    status: str = Field(description="As the agent last reported it")
    category: Category
    create_time: int = Field(description="Epoch ms of the current status, as reported")
    status_since: int = Field(description="Epoch ms (create_time) at which the current status's run began")
    reported_at: int = Field(description="Epoch ms at which the service received the report that set it")
    message_id: str = Field(description="The message_id of that report")
    silent: bool = Field(description="Active and unreported for longer than SilentAfterMinutes")
    silent_since: int | None = Field(None, description="When silent: epoch ms at which it became silent")
    exceptions: TextOrObject | None = Field(None, description="Of the current status, as sent")


class Entry(BaseModel):
    """The job as it was sent (its known fields, and its extra fields under their own names)."""

    model_config = ConfigDict(extra="allow")

    job_id: int
    status: str
    create_time: int
    exceptions: TextOrObject | None = None
    metrics: TextOrObject | None = None
    plan: TextOrObject | None = None
    received_at: int = Field(description="Epoch ms at which the service received the report")
    message_id: str
    category: Category


class Report(BaseModel):
    """A stored report, by its message_id."""

    message_id: str
    received_at: int
    job_count: int


class JobEnvelope(Envelope):
    job: Job


class JobsEnvelope(Envelope):
    jobs: list[Job]
    next_token: str | None = Field(description="null on the last page")


class HistoryEnvelope(Envelope):
    history: list[Entry]
    next_token: str | None = Field(description="null on the last page")


class ReportEnvelope(Envelope):
    report: Report


class SummaryEnvelope(Envelope):
    summary: Summary
