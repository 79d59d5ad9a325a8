"""A reference edge client for POST /v1/{project_id}/edgesrv/job-report that never loses a report.

The delivery protocol, done once and right:
- one message_id per report (generated if the report has none), the same on every retry, so the
  service stores the report exactly once however often it is sent;
- retries on 5xx, 429, connection errors and timeouts, with capped exponential backoff and full
  jitter, honouring Retry-After, within a bounded total time;
- no retry on any other 4xx: the report itself is wrong, and ReportRejected carries the server's
  error_code and error_msg;
- SigV4 signing (service execute-api) when AWS credentials are available, unsigned otherwise
  (the local API);
- a spool directory for offline buffering: a report leaves it only after a 2xx.
Standard library only, plus botocore when signing.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

RETRYABLE = {429, 500, 502, 503, 504}


class ReportRejected(Exception):
    """The service refused the report (a 4xx other than 429); sending it again cannot help."""

    def __init__(self, status: int, error_code: str | None, error_msg: str) -> None:
        super().__init__(f"{status} {error_code or ''}: {error_msg}".strip())
        self.status, self.error_code, self.error_msg = status, error_code, error_msg


class DeliveryFailed(Exception):
    """Not delivered within the time budget; safe to send again later with the same message_id."""


@dataclass(frozen=True)
class Delivery:
    message_id: str
    status: int
    replayed: bool
    attempts: int


@dataclass
class Retry:
    """Capped exponential backoff with full jitter, within a total time budget."""

    base_s: float = 0.5
    cap_s: float = 20.0
    budget_s: float = 120.0
    timeout_s: float = 10.0  # one attempt

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))  # noqa: S311 # nosec B311 - jitter
        return max(backoff, retry_after or 0.0)


def prepare(report: dict[str, Any]) -> dict[str, Any]:
    """The report with a message_id: kept if present, generated (UUID4) once if not."""
    return report if report.get("message_id") else {**report, "message_id": str(uuid.uuid4())}


def load_report(text: str) -> dict[str, Any]:
    """A report from a body, or from an HTTP API payload-2.0 event such as events/report/seed.json."""
    document = json.loads(text)
    if isinstance(document, dict) and document.get("version") == "2.0" and "body" in document:
        document = json.loads(document["body"])
    if not isinstance(document, dict):
        raise ValueError("a report is a JSON object")
    return document


def send_report(
    endpoint: str,
    project_id: str,
    report: dict[str, Any],
    *,
    retry: Retry | None = None,
    sign: bool | None = None,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Delivery:
    """Deliver one report, retrying what a retry can cure. Raises ReportRejected or DeliveryFailed."""
    retry = retry or Retry()
    report = prepare(report)
    url = f"{endpoint.rstrip('/')}/v1/{project_id}/edgesrv/job-report"
    body = json.dumps(report, separators=(",", ":")).encode()
    signer = _signer(region) if sign is not False else None
    if sign and signer is None:
        raise DeliveryFailed("signing was asked for but no AWS credentials were found")
    deadline = clock() + retry.budget_s
    attempt, last = 0, "no attempt"
    while True:
        attempt += 1
        headers = {"content-type": "application/json"}
        if signer is not None:
            headers = signer(url, body, headers)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout_s) as response:  # noqa: S310 # nosec B310
                return Delivery(
                    report["message_id"],
                    response.status,
                    response.headers.get("idempotent-replayed") == "true",
                    attempt,
                )
        except urllib.error.HTTPError as error:
            payload = _json(error.read())
            if error.code not in RETRYABLE:
                raise ReportRejected(
                    error.code,
                    payload.get("error_code"),
                    str(payload.get("error_msg") or payload.get("message") or error.reason),
                ) from None
            retry_after = _retry_after(error.headers.get("retry-after"))
            last = f"HTTP {error.code} {payload.get('error_code') or ''}".strip()
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            last = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        pause = retry.delay(attempt - 1, retry_after)
        if clock() + pause > deadline:
            raise DeliveryFailed(
                f"not delivered after {attempt} attempts in {retry.budget_s:.0f} s (last: {last}); "
                f"send again later with message_id {report['message_id']}"
            )
        sleep(pause)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _signer(region: str | None) -> Callable[[str, bytes, dict[str, str]], dict[str, str]] | None:
    """SigV4 for execute-api with the default credential chain, or None when there are no credentials."""
    try:
        import botocore.session  # noqa: PLC0415 - only a signing client needs botocore
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    except ImportError:
        return None
    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        return None
    region = region or session.get_config_variable("region") or "us-east-1"

    def sign(url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())

    return sign


class Spool:
    """Reports waiting to be delivered, one file each, named by message_id.

    A report is written atomically (temporary file, fsync, rename) before any attempt, and
    removed only after a 2xx, so a crash at any point leaves it either absent (never spooled) or
    complete; sending it again after a crash is safe because the message_id is in the file.
    Reports the service rejects move to rejected/ with the reason, for a person to look at.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        (self.directory / "rejected").mkdir(parents=True, exist_ok=True)

    def put(self, project_id: str, report: dict[str, Any]) -> str:
        report = prepare(report)
        name = f"{uuid.uuid5(uuid.NAMESPACE_URL, project_id + '/' + report['message_id']).hex}.json"
        temporary = self.directory / f".{name}.tmp"
        with temporary.open("w") as fh:
            json.dump({"project_id": project_id, "report": report}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(self.directory / name)
        return str(report["message_id"])

    def pending(self) -> Iterator[Path]:
        yield from sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime)

    def flush(self, endpoint: str, **options: Any) -> list[Delivery]:
        """Send every spooled report; stop at the first one that cannot be delivered now."""
        delivered = []
        for path in self.pending():
            entry = json.loads(path.read_text())
            try:
                delivery = send_report(endpoint, entry["project_id"], entry["report"], **options)
            except ReportRejected as rejected:
                entry["rejected"] = {
                    "status": rejected.status,
                    "error_code": rejected.error_code,
                    "error_msg": rejected.error_msg,
                }
                (self.directory / "rejected" / path.name).write_text(json.dumps(entry))
                path.unlink()
                continue
            path.unlink()  # only now: the service has stored it
            delivered.append(delivery)
        return delivered
