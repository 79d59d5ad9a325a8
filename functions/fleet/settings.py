"""The fleet function's configuration (template.yaml: FleetFunction's environment)."""

from __future__ import annotations

from pydantic import Field

from jobstatus.settings import Settings


class FleetSettings(Settings):
    silent_after_minutes: int = Field(30, alias="SILENT_AFTER_MINUTES", ge=0)
    # Each project's counts as metrics with a project_id dimension too (template.yaml: PerProjectMetrics).
    per_project_metrics: bool = Field(False, alias="PER_PROJECT_METRICS")
    top_reasons: int = Field(5, alias="TOP_FAILURE_REASONS", ge=0, le=20)
