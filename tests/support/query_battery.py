"""The bad-parameter battery of the read routes: named cases, run against the read handler
(tests/integration/test_query.py).

Every case is a GET that must be refused with 400 DLI.0001 and a message that starts with the
parameter's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

P = "48cc2c48765f481480c7db940d6409d1"
JOB = f"/v1/{P}/edgesrv/jobs/99270"
JOBS = f"/v1/{P}/edgesrv/jobs"
HISTORY = f"/v1/{P}/edgesrv/jobs/99270/history"
REPORT = f"/v1/{P}/edgesrv/job-report"


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    query: str  # the raw query string, as the caller sends it
    field: str  # the message starts with this


def q(**params: str) -> str:
    return "&".join(f"{k}={quote(v, safe=',')}" for k, v in params.items())


CASES = [
    # job_id in the path
    Case("job_id not a number", f"/v1/{P}/edgesrv/jobs/abc", "", "job_id"),
    Case("job_id zero", f"/v1/{P}/edgesrv/jobs/0", "", "job_id"),
    Case("job_id negative", f"/v1/{P}/edgesrv/jobs/-5", "", "job_id"),
    Case("job_id with a fraction", f"/v1/{P}/edgesrv/jobs/7.5", "", "job_id"),
    Case("job_id over 2^63-1", f"/v1/{P}/edgesrv/jobs/9223372036854775808", "", "job_id"),
    Case("job_id with a sign", f"/v1/{P}/edgesrv/jobs/+7", "", "job_id"),
    Case("job_id of non-ASCII digits", f"/v1/{P}/edgesrv/jobs/{quote('٣')}", "", "job_id"),
    Case("job_id 40 digits", f"/v1/{P}/edgesrv/jobs/{'9' * 40}", "", "job_id"),
    Case("history job_id not a number", f"/v1/{P}/edgesrv/jobs/x/history", "", "job_id"),
    # project_id in the path
    Case("project_id with a dash", "/v1/bad-id/edgesrv/jobs", "", "project_id"),
    Case("project_id over 64 characters", f"/v1/{'a' * 65}/edgesrv/jobs/1", "", "project_id"),
    Case("project_id with an encoded space", "/v1/a%20b/edgesrv/job-report", q(message_id="m"), "project_id"),
    # limit
    Case("limit zero", JOBS, q(limit="0"), "limit"),
    Case("limit over 1000", JOBS, q(limit="1001"), "limit"),
    Case("limit negative", JOBS, q(limit="-1"), "limit"),
    Case("limit not a number", JOBS, q(limit="ten"), "limit"),
    Case("limit with a fraction", JOBS, q(limit="7.0"), "limit"),
    Case("limit with a plus sign", JOBS, q(limit="+7"), "limit"),
    Case("limit empty", JOBS, q(limit=""), "limit"),
    Case("history limit zero", HISTORY, q(limit="0"), "limit"),
    # category, status, silent
    Case("unknown category", JOBS, q(category="broken"), "category"),
    Case("category in capitals", JOBS, q(category="FAILED"), "category"),
    Case("category list with an empty value", JOBS, q(category="failed,,running"), "category"),
    Case("category list over 20 values", JOBS, q(category=",".join(["failed"] * 21)), "category"),
    Case("status with a space", JOBS, q(status="job running"), "status"),
    Case("status over 64 characters", JOBS, q(status="s" * 65), "status"),
    Case("status list over 20 values", JOBS, q(status=",".join(f"s{i}" for i in range(21))), "status"),
    Case("status empty", JOBS, q(status=""), "status"),
    Case("silent yes", JOBS, q(silent="yes"), "silent"),
    Case("silent in capitals", JOBS, q(silent="TRUE"), "silent"),
    Case("silent as 1", JOBS, q(silent="1"), "silent"),
    # since, until
    Case("since not a number", HISTORY, q(since="yesterday"), "since"),
    Case("since negative", HISTORY, q(since="-1"), "since"),
    Case("until over 2^53", HISTORY, q(until=str(2**53 + 1)), "until"),
    Case("since after until", HISTORY, q(since="20", until="10"), "since"),
    # next_token
    Case("next_token garbage", JOBS, "next_token=not-a-token", "next_token"),
    Case("next_token empty", JOBS, "next_token=", "next_token"),
    Case("next_token with a forged MAC", JOBS, "next_token=eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", "next_token"),
    Case("history next_token garbage", HISTORY, "next_token=x.y", "next_token"),
    # message_id
    Case("message_id missing", REPORT, "", "message_id"),
    Case("message_id empty", REPORT, q(message_id=""), "message_id"),
    Case("message_id over 128 characters", REPORT, q(message_id="m" * 129), "message_id"),
    Case("message_id with a control character", REPORT, q(message_id="a\tb"), "message_id"),
    # parameters the route does not take
    Case("misspelt parameter", JOBS, q(categroy="failed"), "categroy"),
    Case("history parameter on the listing", JOBS, q(since="1"), "since"),
    Case("a parameter on GET job", JOB, q(limit="5"), "limit"),
    Case("listing parameter on the report lookup", REPORT, q(message_id="m", category="failed"), "category"),
]
