"""The client's SigV4 signature, checked against a signature computed independently from the spec."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from edgeclient import _signer


def test_signed_request_matches_an_independent_sigv4_computation(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/p1/edgesrv/job-report"
    body = b'{"jobs":[],"message_id":"m"}'
    sign = _signer("eu-west-1")
    assert sign is not None
    headers = sign("POST", url, body, {"content-type": "application/json"})

    # The same signature by hand (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
    stamp = headers["X-Amz-Date"]
    day = stamp[:8]
    assert abs(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() < 60
    host = "abc123.execute-api.eu-west-1.amazonaws.com"
    signed = "content-type;host;x-amz-date"
    canonical = "\n".join(
        [
            "POST",
            "/v1/p1/edgesrv/job-report",
            "",
            "content-type:application/json",
            f"host:{host}",
            f"x-amz-date:{stamp}",
            "",
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/eu-west-1/execute-api/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").encode()
    for part in (day, "eu-west-1", "execute-api", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert headers["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
