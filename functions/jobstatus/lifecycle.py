"""What a job's status means: the ids and statuses a report may carry, the categories and their order,
which statuses are terminal, and when an active job is silent. Defined here only (the keys and the
items built from them: jobstatus.layout)."""

from __future__ import annotations

import re

PROJECT_ID = re.compile(r"[A-Za-z0-9]{1,64}")
PROJECT_ID_PATTERN = f"^{PROJECT_ID.pattern}$"
PROJECT_ID_RULE = "project_id: must be 1 to 64 letters or digits"
# A status is stored as sent when it has this form, known or not.
STATUS = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
MAX_JOB_ID = 2**63 - 1
MAX_CREATE_TIME = 2**53  # epoch milliseconds; JSON's largest exact integer

# Statuses a job does not leave by itself. On equal create_time they win the tie.
TERMINAL_STATUSES = frozenset({"job_submit_fail", "job_cancel_success", "job_arrearage_stopped", "job_finish"})


# Every status has a category; `active` ones are those in which a live agent keeps reporting.
CATEGORY_STATUSES: dict[str, frozenset[str]] = {
    "pending": frozenset({"job_init", "job_submitting", "job_downloading", "job_idle", "job_arrearage_recovering"}),
    "running": frozenset({"job_running", "job_savepointing", "job_cancel_fail"}),
    "stopping": frozenset({"job_canceling"}),
    "finished": frozenset({"job_finish"}),
    "failed": frozenset({"job_submit_fail", "job_running_exception"}),
    "canceled": frozenset({"job_cancel_success"}),
    "suspended": frozenset({"job_arrearage_stopped"}),
    "unknown": frozenset(),  # any status not listed above
}
CATEGORIES = tuple(CATEGORY_STATUSES)  # in this order: listings walk categories in it
ACTIVE_CATEGORIES = frozenset({"pending", "running", "stopping"})
_CATEGORY_OF = {status: category for category, statuses in CATEGORY_STATUSES.items() for status in statuses}
# The DLI statuses: those of the categories above. Any other status is stored as sent and counted,
# never refused: an agent newer than this service must not lose data.
KNOWN_STATUSES = frozenset(_CATEGORY_OF)


def category_of(status: str) -> str:
    return _CATEGORY_OF.get(status, "unknown")


def status_rank(status: str) -> str:
    """A total order on statuses for ties on create_time: terminal first, then by name.

    Statuses are ASCII, so DynamoDB's byte-wise string comparison agrees with this one.
    """
    return ("1#" if status in TERMINAL_STATUSES else "0#") + status


# --- silence ------------------------------------------------------------------------------------
# A job is silent when its category is active and no report has moved its current status for
# longer than SilentAfterMinutes (0 turns silence off). The indexes file a job under the start
# of a coarse time bucket of its reported_at, so that a heartbeat rewrites an index item only
# when it crosses into a new bucket. Half the threshold (30 s to 15 min) keeps a job that reports
# at least that often out of every silence query, and the index writes within a tenth of a
# heartbeat's cost at one report a minute (docs/design.md, docs/performance.md).
MIN_BUCKET_MS, MAX_BUCKET_MS = 30_000, 900_000


def silence_threshold_ms(silent_after_minutes: int) -> int:
    return silent_after_minutes * 60_000


def bucket_width_ms(silent_after_minutes: int) -> int:
    if silent_after_minutes <= 0:
        return MAX_BUCKET_MS
    return min(MAX_BUCKET_MS, max(MIN_BUCKET_MS, silence_threshold_ms(silent_after_minutes) // 2))


def bucket_start(reported_at_ms: int, silent_after_minutes: int) -> int:
    width = bucket_width_ms(silent_after_minutes)
    return reported_at_ms - reported_at_ms % width


def silent_since(category: str, reported_at_ms: int, silent_after_minutes: int, now_ms: int) -> int | None:
    """When the job became silent (reported_at + threshold), or None while it is not silent."""
    if silent_after_minutes <= 0 or category not in ACTIVE_CATEGORIES:
        return None
    since = reported_at_ms + silence_threshold_ms(silent_after_minutes)
    return since if now_ms > since else None
