"""The report use case: validate, claim the message_id, write what each status changes.

Two sequential DynamoDB phases, the fewest possible once a conflicting reuse of a message_id
must write nothing (docs/design.md):
1. the ledger, one conditional write that tells new, replay and conflict apart, and at the same
   time a read of each job's current status (a read writes nothing);
2. the current-status updates and the history puts, concurrently: what report.runs decides from
   the statuses and the current ones (a heartbeat moves only the current item).
A replay redoes phase 2 with the first attempt's timestamps, and writes only what its first attempt
did, so a crash between the phases loses nothing and no retry is ever blocked by a lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from jobstatus.errors import InvalidRequest
from jobstatus.jsonvalue import canonical
from jobstatus.lifecycle import KNOWN_STATUSES, PROJECT_ID, PROJECT_ID_RULE, status_rank
from report.confirm import ConfirmationPublisher
from report.models import JobReport, job_document, parse_report
from report.runs import run_of
from report.store import JobEntry, JobStatusStore


@dataclass(frozen=True, slots=True)
class Outcome:
    replayed: bool
    stored: int  # history items written (duplicates within the report count once; heartbeats none)
    unknown_statuses: int
    confirmed: bool | None = None  # None: no publish was due (publishing off, or no topic)


class ReportService:
    def __init__(
        self,
        store: JobStatusStore,
        *,
        max_jobs: int,
        publisher: ConfirmationPublisher | None = None,
        topic_prefix: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._max_jobs = max_jobs
        self._publisher = publisher
        self._topic_prefix = topic_prefix
        self._clock = clock

    def parse(self, project_id: str, body: bytes) -> JobReport:
        if not PROJECT_ID.fullmatch(project_id):
            raise InvalidRequest(PROJECT_ID_RULE)
        report = parse_report(body, max_jobs=self._max_jobs)
        topic = report.msg_confirm_topic
        # With publishing on, the function may publish only under its prefix (its IAM policy says
        # the same); a topic elsewhere would fail every time, so it is refused up front.
        if self._publisher is not None and topic is not None and not topic.startswith(self._topic_prefix):
            raise InvalidRequest(f"msg_confirm_topic: must start with {self._topic_prefix!r}")
        return report

    def accept(self, project_id: str, report: JobReport) -> Outcome:
        documents = [job_document(job) for job in report.jobs]
        texts = [canonical(doc) for doc in documents]
        entries = [
            JobEntry(
                index=index,
                document=doc,
                extra_names=frozenset(job.model_extra or ()),
                digest=hashlib.sha256(text.encode()).hexdigest()[:16],
                run=run_of(doc),
                rank=status_rank(job.status),
            )
            for index, (job, doc, text) in enumerate(zip(report.jobs, documents, texts, strict=True))
        ]
        extra = dict(report.model_extra or {})
        writes = self._store.prepare(
            project_id,
            report.message_id,
            _payload_hash(report, texts, extra),
            entries,
            report_extra=extra,
        )
        now_ms = int(self._clock() * 1000)
        first_seen, currents = self._store.begin(
            writes, job_count=len(entries), topic=report.msg_confirm_topic, now_ms=now_ms
        )
        replayed = first_seen is not None
        # A replay writes with the first attempt's timestamp, so its items are identical.
        stored = self._store.apply(
            writes, currents, received_at_ms=first_seen if first_seen is not None else now_ms, replayed=replayed
        )
        confirmed = None
        if self._publisher is not None and report.msg_confirm_topic is not None:
            # Stored first, then confirmed; a replay confirms again for an agent that missed it.
            confirmed = self._publisher.publish(report.msg_confirm_topic, report.message_id)
        return Outcome(
            replayed=replayed,
            stored=stored,
            unknown_statuses=sum(job.status not in KNOWN_STATUSES for job in report.jobs),
            confirmed=confirmed,
        )


def _payload_hash(report: JobReport, job_texts: list[str], extra: dict[str, object]) -> str:
    """SHA-256 of the canonical body, assembled from the jobs' canonical forms already computed."""
    fields = {name: canonical(value) for name, value in extra.items()}
    fields["jobs"] = "[" + ",".join(job_texts) + "]"
    fields["message_id"] = canonical(report.message_id)
    if report.msg_confirm_topic is not None:
        fields["msg_confirm_topic"] = canonical(report.msg_confirm_topic)
    body = "{" + ",".join(f"{canonical(k)}:{v}" for k, v in sorted(fields.items())) + "}"
    return hashlib.sha256(body.encode()).hexdigest()
