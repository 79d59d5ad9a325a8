"""The report function's configuration (template.yaml: JobReportFunction's environment)."""

from __future__ import annotations

from pydantic import Field

from jobstatus.settings import Settings


class ReportSettings(Settings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    max_jobs_per_report: int = Field(100, alias="MAX_JOBS_PER_REPORT", ge=1, le=1000)
    history_retention_days: int = Field(30, alias="HISTORY_RETENTION_DAYS", ge=1)
    ledger_retention_days: int = Field(7, alias="IDEMPOTENCY_RETENTION_DAYS", ge=1)
    confirm_topic_publish: bool = Field(False, alias="CONFIRM_TOPIC_PUBLISH")
    confirm_topic_prefix: str = Field("", alias="CONFIRM_TOPIC_PREFIX")
    iot_data_endpoint: str | None = Field(None, alias="IOT_DATA_ENDPOINT")
    silent_after_minutes: int = Field(30, alias="SILENT_AFTER_MINUTES", ge=0)
    # Keep every status in history, heartbeats too (template.yaml: KeepHeartbeats), for an audit trail.
    keep_heartbeats: bool = Field(False, alias="KEEP_HEARTBEATS")
