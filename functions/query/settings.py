"""The read function's configuration (template.yaml: JobQueryFunction's environment)."""

from __future__ import annotations

from pydantic import Field

from jobstatus.settings import Settings


class QuerySettings(Settings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    silent_after_minutes: int = Field(30, alias="SILENT_AFTER_MINUTES", ge=0)
    # The secret holding the HMAC key of page tokens (template.yaml: PageTokenSecret, generated per stack).
    page_token_secret: str = Field(alias="PAGE_TOKEN_SECRET", min_length=1)
