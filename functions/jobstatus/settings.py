"""Configuration parsed once from the environment that template.yaml declares; one subclass per function."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from jobstatus.aws import DEFAULT_READ_TIMEOUT_S


class Settings(BaseModel):
    """What every function reads: the job status table, and how long DynamoDB may take to answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_status_table: str = Field(alias="JOB_STATUS_TABLE", min_length=3)
    # The template leaves it at the default; the local stack raises it, because moto serializes the
    # writes DynamoDB runs in parallel.
    dynamodb_read_timeout_s: float = Field(DEFAULT_READ_TIMEOUT_S, alias="DYNAMODB_READ_TIMEOUT_SECONDS", gt=0, le=20)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        return cls.model_validate(dict(environ))
