"""Configuration, parsed once from the environment that template.yaml declares."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    job_status_table: str = Field(alias="JOB_STATUS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    max_jobs_per_report: int = Field(100, alias="MAX_JOBS_PER_REPORT", ge=1, le=1000)
    history_retention_days: int = Field(30, alias="HISTORY_RETENTION_DAYS", ge=1)
    ledger_retention_days: int = Field(7, alias="IDEMPOTENCY_RETENTION_DAYS", ge=1)
    confirm_topic_publish: bool = Field(False, alias="CONFIRM_TOPIC_PUBLISH")
    confirm_topic_prefix: str = Field("", alias="CONFIRM_TOPIC_PREFIX")
    iot_data_endpoint: str | None = Field(None, alias="IOT_DATA_ENDPOINT")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls.model_validate(dict(environ))
