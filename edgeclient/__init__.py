"""A reference client for the edge job-report API that never loses a report, and reads job status back.

The delivery protocol, done once and right:
- one message_id per report (generated if the report has none), the same on every retry, so the
  service stores the report exactly once however often it is sent;
- retries on 5xx, 429, connection errors and timeouts, with capped exponential backoff and full
  jitter, honouring Retry-After, within a bounded total time;
- no retry on any other 4xx: the request itself is wrong, and the exception carries the server's
  error_code and error_msg;
- SigV4 signing (service execute-api), always, unless the caller says `sign=False` (the local
  API): with the default AWS credential chain, or with given credentials such as a device
  certificate's (`edgeclient.iot`); without credentials it refuses to send rather than send
  unsigned, which a deployed API would answer 403. Credentials are read at every attempt, so
  refreshable ones are refreshed before they expire however long the client lives;
- a spool directory for offline buffering: a report leaves it only after a 2xx.
The read routes (one job, a project's jobs, a job's history, a report lookup, the project at a glance)
are signed the same way and retried within a short budget (a person is waiting, and a wrong URL must
fail in seconds); `list_jobs` follows next_token. A 404 that API Gateway answers by itself (no
error_code) means the URL has no route: the endpoint is not the API's base URL. Standard library
only, plus botocore to sign.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

RETRYABLE = {429, 500, 502, 503, 504}
NO_CREDENTIALS = (
    "no AWS credentials were found to sign with (SigV4, execute-api); nothing was sent. "
    "Configure credentials or a device (--device), or pass --unsigned (sign=False) for the local API"
)
Signer = Callable[[str, str, bytes, dict[str, str]], dict[str, str]]
# The API's own host, https://{api_id}.execute-api.{region}.amazonaws.com[.cn]
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html)
EXECUTE_API = re.compile(r"[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")


class Credentials(Protocol):
    """What the client signs with: botocore's credentials (refreshable or not), or IotCredentials."""

    def get_frozen_credentials(self) -> Any: ...


class RequestRejected(Exception):
    """The service refused the request (a 4xx other than 429); sending it again cannot help."""

    def __init__(self, status: int, error_code: str | None, error_msg: str) -> None:
        super().__init__(f"{status} {error_code or ''}: {error_msg}".strip())
        self.status, self.error_code, self.error_msg = status, error_code, error_msg


class ReportRejected(RequestRejected):
    """The service refused the report: fix it, or send it with a new message_id."""


class NoRoute(RequestRejected):
    """API Gateway answered 404 by itself: no route matches the URL, so the endpoint is not the API's
    base URL. The service never saw the request: a report stays where it is (the spool keeps it)."""

    def __init__(self, method: str, url: str) -> None:
        super().__init__(404, None, f"no route here ({method} {url})")
        self.url = url


class DeliveryFailed(Exception):
    """Not answered within the time budget; safe to send again later (a report with the same message_id).

    `endpoint_unreachable`: the last attempt got no HTTP answer from the endpoint (a refused
    connection, an unknown host, a timeout), which for a read usually means a wrong URL.
    """

    def __init__(self, message: str, *, endpoint_unreachable: bool = False) -> None:
        super().__init__(message)
        self.endpoint_unreachable = endpoint_unreachable


class NoCredentials(DeliveryFailed):
    """Signing was required but there are no AWS credentials to sign with: none were found, or their
    source (the AWS IoT credential provider) refused them. Nothing was sent; the message says what to check."""


class CredentialsUnreachable(ConnectionError):
    """The credentials' source did not answer now (offline, or a 5xx): retried like a connection error."""


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

    @classmethod
    def reads(cls, budget_s: float = 10.0) -> Retry:
        """For the read routes: someone waits for the answer, and a wrong URL must fail in seconds."""
        return cls(cap_s=2.0, budget_s=budget_s, timeout_s=5.0)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))  # noqa: S311 # nosec B311 - jitter
        return max(backoff, retry_after or 0.0)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    attempts: int


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


class Client:
    """One API endpoint: every route, signed alike; reports retried within `retry`, reads within `read_retry`.

    Signing (unless sign=False) uses `credentials` (default: the AWS credential chain) for the region
    `region_for` chooses. `on_retry` is told, in one line, what is retried and why before each pause.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        retry: Retry | None = None,
        read_retry: Retry | None = None,
        sign: bool = True,
        credentials: Credentials | None = None,
        region: str | None = None,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"endpoint: {endpoint!r} is not an http(s) URL, e.g. http://127.0.0.1:3000")
        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or Retry()
        self.read_retry = read_retry or Retry.reads()
        self.region: str | None = None
        self._signer: Signer | None = None
        if sign:
            self._signer, self.region = _signer(self.endpoint, credentials, region)
        self._on_retry, self._sleep, self._clock = on_retry, sleep, clock

    def request(self, method: str, path: str, body: bytes | None = None) -> Answer:
        """One request, retried while a retry can cure it (a GET within read_retry, anything else within retry).

        Raises RequestRejected (NoRoute for a URL without a route), NoCredentials or DeliveryFailed.
        """
        url = self.endpoint + path
        retry = self.read_retry if method == "GET" else self.retry
        deadline = self._clock() + retry.budget_s
        attempt, last, unreachable = 0, "no attempt", False
        while True:
            attempt += 1
            retry_after = None
            try:
                headers = {"content-type": "application/json"} if body is not None else {}
                if self._signer is not None:  # at every attempt: credentials near expiry are refreshed first
                    headers = self._signer(method, url, body or b"", headers)
                request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
                with urllib.request.urlopen(request, timeout=retry.timeout_s) as response:  # noqa: S310 # nosec B310
                    headers = {name.lower(): value for name, value in response.headers.items()}
                    return Answer(response.status, headers, _json(response.read()), attempt)
            except urllib.error.HTTPError as error:
                payload = _json(error.read())
                if error.code == 404 and not payload.get("error_code"):
                    raise NoRoute(method, url) from None
                if error.code not in RETRYABLE:
                    message = str(payload.get("error_msg") or payload.get("message") or error.reason)
                    raise RequestRejected(error.code, payload.get("error_code"), message) from None
                retry_after = _retry_after(error.headers.get("retry-after"))
                last, unreachable = f"HTTP {error.code} {payload.get('error_code') or ''}".strip(), False
            except CredentialsUnreachable as error:
                last, unreachable = str(error), False
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                last, unreachable = f"{type(error).__name__}: {getattr(error, 'reason', error)}", True
            pause = retry.delay(attempt - 1, retry_after)
            left = deadline - self._clock()
            if pause > left:
                raise DeliveryFailed(
                    f"no answer from {self.endpoint} after {attempt} attempts in {retry.budget_s:.0f} s (last: {last})",
                    endpoint_unreachable=unreachable,
                )
            if self._on_retry is not None:
                self._on_retry(
                    f"retrying {method} {path} in {pause:.1f} s: {last} "
                    f"(attempt {attempt}; {left:.0f} s of {retry.budget_s:.0f} s left)"
                )
            self._sleep(pause)

    # --- the report route ----------------------------------------------------------------------

    def send_report(self, project_id: str, report: dict[str, Any]) -> Delivery:
        """Deliver one report exactly once. Raises ReportRejected or DeliveryFailed (send again later)."""
        report = prepare(report)
        body = json.dumps(report, separators=(",", ":")).encode()
        try:
            answer = self.request("POST", f"/v1/{_path(project_id)}/edgesrv/job-report", body)
        except (NoRoute, NoCredentials):
            raise  # the service never saw the report: nothing about it to fix
        except RequestRejected as rejected:
            raise ReportRejected(rejected.status, rejected.error_code, rejected.error_msg) from None
        except DeliveryFailed as failed:
            raise DeliveryFailed(
                f"{failed}; send again later with message_id {report['message_id']}",
                endpoint_unreachable=failed.endpoint_unreachable,
            ) from None
        replayed = answer.headers.get("idempotent-replayed") == "true"
        return Delivery(report["message_id"], answer.status, replayed, answer.attempts)

    # --- the read routes ----------------------------------------------------------------------

    def get_job(self, project_id: str, job_id: int) -> dict[str, Any]:
        """A job's current status (RequestRejected with status 404 when the project has no such job)."""
        return dict(self.request("GET", f"/v1/{_path(project_id)}/edgesrv/jobs/{int(job_id)}").body["job"])

    def list_jobs(
        self,
        project_id: str,
        *,
        category: str | list[str] | None = None,
        status: str | list[str] | None = None,
        silent: bool | None = None,
        limit: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every job matching the filters, following next_token page by page."""
        query: dict[str, str] = {"limit": str(limit)}
        for name, value in (("category", category), ("status", status)):
            if value is not None:
                query[name] = value if isinstance(value, str) else ",".join(value)
        if silent is not None:
            query["silent"] = "true" if silent else "false"
        yield from self._pages(f"/v1/{_path(project_id)}/edgesrv/jobs", query, "jobs")

    def job_history(
        self, project_id: str, job_id: int, *, since: int | None = None, until: int | None = None, limit: int = 100
    ) -> Iterator[dict[str, Any]]:
        """A job's reported statuses, newest create_time first, following next_token."""
        query = {"limit": str(limit)}
        query |= {name: str(value) for name, value in (("since", since), ("until", until)) if value is not None}
        yield from self._pages(f"/v1/{_path(project_id)}/edgesrv/jobs/{int(job_id)}/history", query, "history")

    def report_status(self, project_id: str, message_id: str) -> dict[str, Any]:
        """Whether a report landed: its record, or RequestRejected with status 404 when it never did."""
        query = urllib.parse.urlencode({"message_id": message_id})
        return dict(self.request("GET", f"/v1/{_path(project_id)}/edgesrv/job-report?{query}").body["report"])

    def job_summary(self, project_id: str, *, limit: int | None = None) -> dict[str, Any]:
        """The project's jobs at a glance: counts by category and by status, the silent ones, and the
        `limit` commonest failure reasons (1..100; None: the service's default, 10)."""
        query = "" if limit is None else "?" + urllib.parse.urlencode({"limit": limit})
        return dict(self.request("GET", f"/v1/{_path(project_id)}/edgesrv/job-summary{query}").body["summary"])

    def _pages(self, path: str, query: dict[str, str], field: str) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            parameters = query | ({"next_token": token} if token else {})
            body = self.request("GET", f"{path}?{urllib.parse.urlencode(parameters)}").body
            yield from body[field]
            token = body.get("next_token")
            if not token:
                return


def send_report(
    endpoint: str,
    project_id: str,
    report: dict[str, Any],
    *,
    retry: Retry | None = None,
    sign: bool = True,
    credentials: Credentials | None = None,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Delivery:
    """Deliver one report, retrying what a retry can cure. Raises ReportRejected or DeliveryFailed."""
    client = Client(endpoint, retry=retry, sign=sign, credentials=credentials, region=region, sleep=sleep, clock=clock)
    return client.send_report(project_id, report)


def _path(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


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


def region_from_url(url: str) -> str | None:
    """The region in an execute-api URL (https://{api_id}.execute-api.{region}.amazonaws.com[.cn]/...), else None."""
    match = EXECUTE_API.fullmatch(urllib.parse.urlsplit(url).hostname or "")
    return match.group(1) if match else None


def region_for(endpoint: str, region: str | None = None, configured: str | None = None) -> str:
    """The region to sign for: the one given; else the URL's, since a signature for any other region is
    refused; else the configured one (the AWS configuration's); else us-east-1."""
    return region or region_from_url(endpoint) or configured or "us-east-1"


def _signer(endpoint: str, credentials: Credentials | None, region: str | None) -> tuple[Signer, str]:
    """SigV4 for execute-api, and the region it signs for. Raises NoCredentials when there are none."""
    try:
        import botocore.session  # noqa: PLC0415 - only a signing client needs botocore
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    except ImportError:
        raise NoCredentials(NO_CREDENTIALS) from None
    session = botocore.session.get_session()
    if credentials is None:
        credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentials(NO_CREDENTIALS)
    signing_region = region_for(endpoint, region, session.get_config_variable("region"))

    def sign(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", signing_region).add_auth(request)
        return dict(request.headers.items())

    return sign, signing_region


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

    def flush(
        self,
        endpoint: str | Client,
        *,
        on_rejected: Callable[[Path, ReportRejected], None] | None = None,
        **options: Any,
    ) -> list[Delivery]:
        """Send every spooled report; stop at the first one that cannot be delivered now (DeliveryFailed,
        or NoRoute: the endpoint is wrong). One client signs them all, with credentials refreshed as needed.

        A report the service refuses moves to rejected/ (then `on_rejected(path, refusal)` is called).
        """
        client = endpoint if isinstance(endpoint, Client) else Client(endpoint, **options)
        delivered = []
        for path in self.pending():
            entry = json.loads(path.read_text())
            try:
                delivery = client.send_report(entry["project_id"], entry["report"])
            except ReportRejected as rejected:
                entry["rejected"] = {
                    "status": rejected.status,
                    "error_code": rejected.error_code,
                    "error_msg": rejected.error_msg,
                }
                (self.directory / "rejected" / path.name).write_text(json.dumps(entry))
                path.unlink()
                if on_rejected is not None:
                    on_rejected(self.directory / "rejected" / path.name, rejected)
                continue
            path.unlink()  # only now: the service has stored it
            delivered.append(delivery)
        return delivered
