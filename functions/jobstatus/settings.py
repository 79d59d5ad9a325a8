"""Configuration parsed once from the environment that template.yaml declares; one subclass per function."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What every function reads: the job status table."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_status_table: str = Field(alias="JOB_STATUS_TABLE", min_length=3)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        return cls.model_validate(dict(environ))
