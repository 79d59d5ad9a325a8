"""Every AWS client of the functions, and what a failed call means. The one place clients are made.

The functions use botocore, not boto3: `import boto3` pulls in s3transfer, about 30 ms of cold start
for nothing a function here uses (make bench).
"""

from __future__ import annotations

import random
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from jobstatus.errors import DependencyUnavailable

# AWS answers these calls in milliseconds: a call still unanswered after this is a fault worth retrying.
DEFAULT_READ_TIMEOUT_S = 2.0


def client(
    service: str,
    *,
    pool: int = 10,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    attempts: int = 3,
    endpoint_url: str | None = None,
) -> Any:
    """One client per service and execution environment, shared by every call and thread (botocore
    clients are thread-safe); `pool` connections for as many calls at once.

    Timeouts are short (1 s to connect; the read timeout is a setting for DynamoDB, 2 s by default);
    botocore's standard retry mode retries throttling and 5xx with backoff, `attempts` in all. Worst
    case per call: 3 attempts x 3 s plus backoff, and each function's timeout (template.yaml) allows
    for its sequential calls.

    Client-side parameter validation is off, as botocore documents for performance: every request
    is built by this service's own code, the tests send each shape to moto, and AWS validates again
    on its side (a refused request is a 500, see `fault`). It saves about 5% of the CPU per 1-job
    report and 10% per 25-job report (make bench).
    """
    return botocore.session.get_session().create_client(
        service,
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=1,
            read_timeout=read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=pool,
            tcp_keepalive=True,
            parameter_validation=False,
        ),
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def fault(exc: ClientError | BotoCoreError) -> Exception:
    """Throttling, 5xx and network faults are retryable (503); a refused request is a bug (500)."""
    if isinstance(exc, ClientError) and error_code(exc) == "ValidationException":
        return RuntimeError(f"AWS refused a request: {exc}")
    return DependencyUnavailable(type(exc).__name__)


def backoff_s(attempt: int, base_s: float, cap_s: float) -> float:
    """Full jitter: a random wait below a capped exponential. It guards nothing, so a
    non-cryptographic generator is right."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))  # noqa: S311 # nosec B311
