"""The page tokens' MAC key, read from Secrets Manager once per execution environment, when first needed.

The key is not in the function's configuration (template.yaml passes only the secret's ARN), where
anyone allowed lambda:GetFunctionConfiguration could read it. It is read on the first request that
issues or checks a page token, not at init: a GET of one job, a report lookup or a first page that
fits in one answer never needs it, and so never pays for the Secrets Manager client and call
(docs/performance.md measures both). Powertools' `parameters.get_secret` would do the same, but
importing it imports boto3 (about 30 ms of cold start, see jobstatus/dynamodb.py); one botocore call
is all this needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobstatus.aws import client, fault

MIN_KEY_CHARS = 16


def secrets_client() -> Any:
    return client("secretsmanager")


class SecretKey:
    """A callable that returns the secret's string, fetched on the first call and kept."""

    def __init__(self, secret_id: str, client: Callable[[], Any] = secrets_client) -> None:
        self._secret_id = secret_id
        self._client = client
        self._value: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._fetch()
        return self._value

    def _fetch(self) -> str:
        try:
            value = self._client().get_secret_value(SecretId=self._secret_id).get("SecretString") or ""
        except (ClientError, BotoCoreError) as exc:
            raise fault(exc) from exc  # throttled or unreachable: a retryable 503, like a DynamoDB fault
        if len(value) < MIN_KEY_CHARS:
            raise RuntimeError(f"the page token secret holds {len(value)} characters, fewer than {MIN_KEY_CHARS}")
        return value
