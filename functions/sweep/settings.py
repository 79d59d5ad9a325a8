"""The silence sweep's configuration (template.yaml: SilenceSweepFunction's environment)."""

from __future__ import annotations

from pydantic import Field

from jobstatus.settings import Settings


class SweepSettings(Settings):
    silent_after_minutes: int = Field(30, alias="SILENT_AFTER_MINUTES", ge=0)
    # A run stops starting work after this many seconds; what is left is the next run's (a minute later).
    budget_s: float = Field(20.0, alias="SWEEP_BUDGET_SECONDS", gt=0)
