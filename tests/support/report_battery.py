"""The bad-input battery of the report: named cases, run against the report use case without AWS
(tests/unit/test_models.py), where each input rule is decided before the first DynamoDB call.

Every case states the status, the DLI error code and the field the message must name. What only the
handler sees (the content type, base64, the route) is tested there once (tests/integration/
test_refusals.py); what only HTTP has (a body over 6 MB) over HTTP (tests/e2e/test_http.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OK_JOB = {"job_id": 1, "status": "job_running", "create_time": 1_700_000_000_000}


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    field: str  # the message starts with this
    status: int = 400
    code: str = "DLI.0001"
    project: str | None = None  # the path's project_id as sent (percent-encoded); None: a valid one
    confirm_prefix: str | None = None  # with the confirmation publish on, under this ConfirmTopicPrefix


def assert_refused(case: Case, status: int, code: str, message: str) -> None:
    """The case's status and DLI code, and a message naming the field."""
    assert (status, code) == (case.status, case.code), message
    assert message.startswith(case.field), message


def body(**fields: Any) -> bytes:
    document: dict[str, Any] = {"jobs": [OK_JOB], "message_id": "battery"}
    document.update(fields)
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


def with_job(**fields: Any) -> bytes:
    job = {**OK_JOB, **fields}
    return body(jobs=[{k: v for k, v in job.items() if v is not ...}])


def with_number(literal: str) -> bytes:
    """A job whose metrics hold this JSON number literal, as sent."""
    return f'{{"jobs":[{{"status":"s","create_time":1,"metrics":{{"n":{literal}}}}}],"message_id":"m"}}'.encode()


def nest(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


CASES = [
    # malformed, truncated and non-object JSON
    Case("empty body", b"", "body"),
    Case("whitespace body", b" \n\t ", "body"),
    Case("truncated object", b'{"jobs": [', "body"),
    Case("truncated string", b'{"message_id": "abc', "body"),
    Case("trailing garbage", body() + b" x", "body"),
    Case("single quotes", b"{'jobs': []}", "body"),
    Case("trailing comma", b'{"jobs": [], }', "body"),
    Case("array not closed", b'{"jobs": [}', "body"),
    Case("comment", b'{"jobs": [] /* c */}', "body"),
    Case("array body", b"[]", "body: must be a JSON object"),
    Case("string body", b'"report"', "body"),
    Case("number body", b"42", "body"),
    Case("null body", b"null", "body"),
    Case("boolean body", b"true", "body"),
    Case("NaN literal", b'{"jobs": NaN}', "body"),
    Case("Infinity literal", b'{"jobs": [{"create_time": Infinity}]}', "body"),
    Case("huge integer literal", b'{"message_id": ' + b"9" * 5000 + b"}", "body"),
    Case("huge integer body", b"1" * 5000, "body"),
    # deep nesting
    Case("100000 nested arrays", b"[" * 100_000 + b"]" * 100_000, "body"),
    Case("100000 arrays never closed", b"[" * 100_000, "body"),
    Case("metrics nested 33 levels", with_job(metrics=nest(33)), "jobs[0].metrics"),
    Case("extra field nested 32 levels", with_job(extra_field=nest(32)), "jobs[0].extra_field"),
    # missing and null
    Case("jobs missing", body(jobs=...), "jobs: field required"),
    Case("message_id missing", body(message_id=...), "message_id: field required"),
    Case("status missing", with_job(status=...), "jobs[0].status: field required"),
    Case("create_time missing", with_job(create_time=...), "jobs[0].create_time: field required"),
    Case("jobs null", body(jobs=None), "jobs"),
    Case("message_id null", body(message_id=None), "message_id"),
    Case("status null", with_job(status=None), "jobs[0].status"),
    Case("create_time null", with_job(create_time=None), "jobs[0].create_time: must be an integer, got null"),
    # wrong types
    Case("jobs is an object", body(jobs=OK_JOB), "jobs"),
    Case("jobs is a string", body(jobs="[]"), "jobs"),
    Case("job is a number", body(jobs=[1]), "jobs[0]"),
    Case("message_id is a number", body(message_id=12), "message_id"),
    Case("status is a number", with_job(status=3), "jobs[0].status"),
    Case("create_time is a word", with_job(create_time="yesterday"), "jobs[0].create_time"),
    Case("topic is a number", body(msg_confirm_topic=5), "msg_confirm_topic"),
    Case("exceptions is an array", with_job(exceptions=["e"]), "jobs[0].exceptions"),
    Case("plan is an array", with_job(plan=[1, 2]), "jobs[0].plan"),
    Case("metrics is a number", with_job(metrics=3), "jobs[0].metrics"),
    Case("plan is a boolean", with_job(plan=True), "jobs[0].plan"),
    # empty, too long
    Case("no jobs", body(jobs=[]), "jobs: must not be empty"),
    Case("empty message_id", body(message_id=""), "message_id"),
    Case("empty status", with_job(status=""), "jobs[0].status"),
    Case("empty topic", body(msg_confirm_topic=""), "msg_confirm_topic"),
    Case("message_id of 129 characters", body(message_id="m" * 129), "message_id"),
    Case("status of 65 characters", with_job(status="s" * 65), "jobs[0].status"),
    Case("topic of 257 bytes", body(msg_confirm_topic="t" * 257), "msg_confirm_topic"),
    Case("status with a space", with_job(status="job running"), "jobs[0].status"),
    Case("status with a slash", with_job(status="job/running"), "jobs[0].status"),
    Case("topic of 129 two-byte characters", body(msg_confirm_topic="é" * 129), "msg_confirm_topic"),
    # out of range, booleans, fractions
    Case("job_id 0", with_job(job_id=0), "jobs[0].job_id"),
    Case("job_id negative", with_job(job_id=-5), "jobs[0].job_id"),
    Case("job_id 2^63", with_job(job_id=2**63), "jobs[0].job_id"),
    Case("job_id 2^70", with_job(job_id=2**70), "jobs[0].job_id"),
    Case("job_id negative digit string", with_job(job_id="-5"), "jobs[0].job_id"),
    Case("job_id digits and a letter", with_job(job_id="7a"), "jobs[0].job_id"),
    Case("job_id digits after a space", with_job(job_id=" 7"), "jobs[0].job_id"),
    Case("job_id of a non-ASCII digit", with_job(job_id="٣"), "jobs[0].job_id"),
    Case("job_id an array", with_job(job_id=[]), "jobs[0].job_id"),
    Case("job_id an object", with_job(job_id={}), "jobs[0].job_id"),
    Case("create_time negative", with_job(create_time=-1), "jobs[0].create_time"),
    Case("create_time 2^53 + 1", with_job(create_time=2**53 + 1), "jobs[0].create_time"),
    Case("create_time 2^70", with_job(create_time=2**70), "jobs[0].create_time"),
    Case(
        "job_id 1e10000000 (never expanded)",
        b'{"jobs":[{"status":"s","create_time":1,"job_id":1e10000000}],"message_id":"m"}',
        "jobs[0].job_id",
    ),
    Case("create_time 1e400", b'{"jobs":[{"status":"s","create_time":1e400}],"message_id":"m"}', "jobs[0].create_time"),
    Case("job_id true", with_job(job_id=True), "jobs[0].job_id"),
    Case("job_id false", with_job(job_id=False), "jobs[0].job_id"),
    Case("create_time false", with_job(create_time=False), "jobs[0].create_time"),
    Case("job_id 1.5", with_job(job_id=1.5), "jobs[0].job_id"),
    Case("create_time 1.5", with_job(create_time=1.5), "jobs[0].create_time"),
    Case("number beyond DynamoDB precision", with_job(metrics={"x": int("1" * 39)}), "jobs[0].metrics.x"),
    Case(
        "number beyond DynamoDB range",
        b'{"jobs":[{"status":"s","create_time":1,"plan":{"x":1e200}}],"message_id":"m"}',
        "jobs[0].plan.x",
    ),
    Case("number 1e126, just beyond DynamoDB's range", with_number("1e126"), "jobs[0].metrics.n"),
    Case("number 1e-131, just below DynamoDB's smallest", with_number("1e-131"), "jobs[0].metrics.n"),
    Case(
        "fraction of 40 significant digits",
        with_number("1.000000000000000000000000000000000000001"),
        "jobs[0].metrics.n",
    ),
    Case("empty key in an object", with_job(exceptions={"": "x"}), "jobs[0].exceptions"),
    Case("job field with an empty name", with_job(**{"": []}), "jobs[0]: a field with an empty name"),
    Case("report field with an empty name", body(**{"": None}), "body: a field with an empty name"),
    # control characters, invalid UTF-8 and Unicode
    Case("newline in message_id", body(message_id="a\nb"), "message_id"),
    Case("NUL in message_id", body(message_id="a\x00b"), "message_id"),
    Case("C1 control in message_id", body(message_id="a\x85b"), "message_id"),
    Case("tab in message_id", body(message_id="tab\there"), "message_id"),
    Case("DEL in message_id", body(message_id="del\x7f"), "message_id"),
    Case("invalid UTF-8 byte", b'{"jobs": [], "message_id": "\xff"}', "body: not valid UTF-8"),
    Case("overlong UTF-8", b'{"message_id": "\xc0\xaf"}', "body"),
    Case("UTF-16 body", json.dumps({"jobs": [OK_JOB], "message_id": "m"}).encode("utf-16"), "body"),
    Case(
        "unpaired surrogate in message_id",
        b'{"jobs":[{"status":"s","create_time":1}],"message_id":"\\ud800"}',
        "message_id",
    ),
    Case(
        "unpaired surrogate in a job field's name",
        b'{"jobs":[{"status":"s","create_time":1,"\\ud800":1}],"message_id":"m"}',
        "jobs[0]",
    ),
    Case(
        "unpaired surrogate in plan",
        b'{"jobs":[{"status":"s","create_time":1,"plan":"\\udfff"}],"message_id":"m"}',
        "jobs[0].plan",
    ),
    # MQTT topic
    Case("topic with +", body(msg_confirm_topic="hw/+/confirm"), "msg_confirm_topic"),
    Case("topic with #", body(msg_confirm_topic="hw/events/#"), "msg_confirm_topic"),
    Case("topic with NUL", body(msg_confirm_topic="hw/\x00"), "msg_confirm_topic"),
    Case(
        "topic outside the publish prefix",
        body(msg_confirm_topic="other/topic"),
        "msg_confirm_topic: must start with 'hw/events/'",
        confirm_prefix="hw/events/",
    ),
    # project_id
    Case("project_id with a dash", body(), "project_id", project="48cc2c48-765f"),
    Case("project_id of 65 characters", body(), "project_id", project="a" * 65),
    Case("project_id with an encoded slash", body(), "project_id", project="abc%2Fdef"),
    Case("project_id with an encoded letter", body(), "project_id", project="caf%C3%A9"),
    Case("project_id with a dot", body(), "project_id", project="a.b"),
    # sizes
    Case("101 jobs (N + 1)", body(jobs=[{**OK_JOB, "job_id": i} for i in range(1, 102)]), "jobs: at most 100"),
    Case("plan larger than an item", with_job(plan="p" * 410_000), "jobs[0].plan", 413, "DLI.0009"),
    Case(
        "plan object larger than an item",
        with_job(plan={f"k{i}": "v" * 1000 for i in range(420)}),
        "jobs[0].plan",
        413,
        "DLI.0009",
    ),
    Case("report field larger than an item", body(debug="d" * 410_000), "debug", 413, "DLI.0009"),
    # duplicate keys
    Case(
        "duplicate top-level key",
        b'{"jobs": [], "jobs": [{"status": "s", "create_time": 1}], "message_id": "m"}',
        "body: duplicate key",
    ),
    Case(
        "duplicate key in a job",
        b'{"jobs": [{"status": "s", "status": "t", "create_time": 1}], "message_id": "m"}',
        "body: duplicate key",
    ),
    Case(
        "duplicate key in metrics",
        b'{"jobs": [{"status": "s", "create_time": 1, "metrics": {"a": 1, "a": 2}}], "message_id": "m"}',
        "body: duplicate key",
    ),
]

# Valid edges that must be accepted (the battery's other side): 1 and N jobs, every limit exactly.
GOOD = {
    "one job": body(),
    "N jobs": body(jobs=[{**OK_JOB, "job_id": i} for i in range(1, 101)]),
    "limits exactly": body(
        message_id="m" * 128,
        msg_confirm_topic="é" * 128,
        jobs=[{"job_id": 2**63 - 1, "status": "s" * 64, "create_time": 2**53}],
    ),
    "metrics nested 32 levels": with_job(metrics=nest(32)),
    "350 KB plan": with_job(plan="p" * 350_000),
}
