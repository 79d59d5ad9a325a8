"""Opaque page tokens: a position in a walk, bound to the project and the filter that issued it.

A token is `base64url(state).base64url(mac)`, the MAC an HMAC-SHA256 (truncated to 128 bits) over
the request's scope (route, project, filter) and the state, keyed by a secret of the stack
(template.yaml: PageTokenSecret, read by query.secret). An edited, truncated or foreign token fails
the MAC and is a 400 that says nothing of why. Even a forged one could not reach another project: the keys a position
is rebuilt into always begin with the path's project_id (query.service).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from jobstatus.errors import InvalidRequest

_MAC_BYTES = 16
MAX_TOKEN_CHARS = 8192  # a token for a walk over every category's 16 shards stays far below this
REFUSED = (
    "next_token: not a token issued for this request (it was altered, truncated, or is for another project or filter)"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key  # called when a token is first issued or read (query.secret.SecretKey)

    def issue(self, scope: str, state: Any) -> str:
        payload = _b64(json.dumps(state, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(scope, payload)}"

    def read(self, scope: str, token: str) -> Any:
        payload, dot, mac = token.partition(".")
        if not dot or len(token) > MAX_TOKEN_CHARS or not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise InvalidRequest(REFUSED)
        try:
            return json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            raise InvalidRequest(REFUSED) from None  # a valid MAC over bad state: a bug, still a 400

    def _mac(self, scope: str, payload: str) -> str:
        digest = hmac.new(self._key().encode(), f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest[:_MAC_BYTES])
