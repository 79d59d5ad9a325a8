"""The data model: statuses, how they rank, and every key of both tables. Defined here only.

Job status table (`pk`, `sk`):
- history    pk `{project}#JOB#{job_id}`      sk `STATUS#{create_time:016d}#{status}#{content hash}`
- no job_id  pk `{project}#MSG#{message_id}`  sk `STATUS#{create_time:016d}#{status}#{index in report}`
- current    pk `{project}#JOB#{job_id}`      sk `CURRENT`
             project index gsi1: gsi1pk `{project}#{job_id % 16:02d}`, gsi1sk `JOB#{job_id}`
Ledger (idempotency table): pk `{project}#{message_id}`.

Every key begins with the project_id, so no key built for one project can reach another's items.
`create_time` is padded to 16 digits because its maximum, 2^53, has 16.
"""

from __future__ import annotations

import re

PROJECT_ID = re.compile(r"[A-Za-z0-9]{1,64}")
PROJECT_ID_PATTERN = f"^{PROJECT_ID.pattern}$"

# The DLI statuses. Any other status is stored as sent and counted, never refused: an agent
# newer than this service must not lose data.
KNOWN_STATUSES = frozenset(
    {
        "job_init",
        "job_submitting",
        "job_submit_fail",
        "job_running",
        "job_running_exception",
        "job_downloading",
        "job_idle",
        "job_canceling",
        "job_cancel_success",
        "job_cancel_fail",
        "job_savepointing",
        "job_arrearage_stopped",
        "job_arrearage_recovering",
        "job_finish",
    }
)
# Statuses a job does not leave by itself. On equal create_time they win the tie.
TERMINAL_STATUSES = frozenset({"job_submit_fail", "job_cancel_success", "job_arrearage_stopped", "job_finish"})


def status_rank(status: str) -> str:
    """A total order on statuses for ties on create_time: terminal first, then by name.

    Statuses are ASCII, so DynamoDB's byte-wise string comparison agrees with this one.
    """
    return ("1#" if status in TERMINAL_STATUSES else "0#") + status


# --- keys -------------------------------------------------------------------------------------

CURRENT_SK = "CURRENT"
HISTORY_PREFIX = "STATUS#"
PROJECT_INDEX = "gsi1"
# The project index key is sharded so that no project can exceed one partition's 1,000 WCU
# even when all its jobs are new at once (docs/capacity.md); a project's jobs are 16 queries.
PROJECT_SHARDS = 16


def job_pk(project_id: str, job_id: int) -> str:
    return f"{project_id}#JOB#{job_id}"


def message_pk(project_id: str, message_id: str) -> str:
    """Where the statuses of jobs reported without a job_id are kept."""
    return f"{project_id}#MSG#{message_id}"


def history_sk(create_time: int, status: str, suffix: str) -> str:
    return f"{HISTORY_PREFIX}{create_time:016d}#{status}#{suffix}"


def project_index_pk(project_id: str, job_id: int) -> str:
    return f"{project_id}#{job_id % PROJECT_SHARDS:02d}"


def project_index_sk(job_id: int) -> str:
    return f"JOB#{job_id}"


def ledger_pk(project_id: str, message_id: str) -> str:
    return f"{project_id}#{message_id}"
