"""The stream consumer's configuration (template.yaml: JobEventsFunction's environment)."""

from __future__ import annotations

from pydantic import Field

from jobstatus.settings import Settings


class NotifySettings(Settings):
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME", min_length=1)
    silent_after_minutes: int = Field(30, alias="SILENT_AFTER_MINUTES", ge=0)
