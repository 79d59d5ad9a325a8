"""The client's SigV4 signature, checked against a signature computed independently from the spec; the
region it signs for; and that the loopback stand-in for the API (tests/support/http.py) catches a bad one."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from botocore.credentials import Credentials, ReadOnlyCredentials

from edgeclient import Client, _signer, region_for, region_from_url
from tests.support.http import Api, signature_verifies

EXECUTE_API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/"


def test_signed_request_matches_an_independent_sigv4_computation(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/p1/edgesrv/job-report"
    body = b'{"jobs":[],"message_id":"m"}'
    sign, region = _signer(url, None, None)
    assert region == "eu-west-1"  # the URL's, over the session's us-east-1
    before = datetime.now(UTC).replace(microsecond=0)
    headers = sign("POST", url, body, {"content-type": "application/json"})
    after = datetime.now(UTC)

    # The same signature by hand (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
    stamp = headers["X-Amz-Date"]
    day = stamp[:8]
    assert before <= datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) <= after  # signed at the time
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


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/", "eu-west-1"),
        ("https://abc123.execute-api.ap-southeast-2.amazonaws.com/v1/p1/edgesrv/jobs?limit=1", "ap-southeast-2"),
        ("https://ABC123.Execute-Api.US-WEST-2.amazonaws.com", "us-west-2"),
        ("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/", "cn-north-1"),
        ("https://api.example.com/", None),
        ("http://127.0.0.1:3000", None),
        ("https://abc123.execute-api.eu-west-1.amazonaws.com.example.com/", None),
    ],
)
def test_the_region_of_an_execute_api_url(url: str, region: str | None):
    assert region_from_url(url) == region


def test_the_region_signed_for_is_the_given_one_then_the_urls_then_the_configured_one_then_us_east_1(monkeypatch):
    # Given static credentials and a configured region that is not the API's
    credentials = Credentials("AKIDEXAMPLE", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    # Then the given region wins, else the URL's, else the configured one
    assert Client(EXECUTE_API_URL, credentials=credentials, region="sa-east-1").region == "sa-east-1"
    assert Client(EXECUTE_API_URL, credentials=credentials).region == "eu-west-1"
    assert Client("https://api.example.com/", credentials=credentials).region == "ap-south-1"
    # And with no region configured anywhere, us-east-1
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert Client("https://api.example.com/", credentials=credentials).region == "us-east-1"
    assert region_for("https://api.example.com/") == "us-east-1"


# --- the stand-in for the deployed API (tests/support/http.py) -----------------------------------


def test_the_stand_in_catches_a_signature_made_with_another_secret(api: Api):
    # Given a request signed with the session's credentials
    Client(api.url).get_job("p1", 1)
    (seen,) = api.seen
    # Then the signature verifies with them, and not with any other secret or region
    assert signature_verifies(seen, api.url, ReadOnlyCredentials("testing", "testing", "testing"), "us-east-1")
    assert not signature_verifies(seen, api.url, ReadOnlyCredentials("testing", "other", "testing"), "us-east-1")
    assert not signature_verifies(seen, api.url, ReadOnlyCredentials("testing", "testing", "testing"), "eu-west-1")
