"""How the report handler refuses, once for each kind of refusal: the status, the envelope and its DLI code,
and what reached DynamoDB (nothing, but for the ledger's conditional write that tells a conflict). The
rules of each input are the battery's, against the use case (tests/unit/test_models.py); a 503 or 500
(DLI.0999) is tests/integration/test_faults.py's. Here too what only the handler sees: the content type
and base64; and generated bodies: never a 5xx, never a write on a 4xx.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import EVENTS, JOB_TABLE, LEDGER_TABLE, RUN, everything, job, load_event, report
from tests.support.clients import FaultyClient
from tests.support.gateway import body_of, event

pytestmark = pytest.mark.slow(20)

EMPTY: dict[str, list[Any]] = {JOB_TABLE: [], LEDGER_TABLE: []}

# Each bad event of events/ (as `sam local invoke` sends it) and the field its 400 names.
BAD_EVENTS = {
    "bad-boolean-job-id.json": "jobs[0].job_id",
    "bad-malformed-json.json": "body",
    "bad-missing-create-time.json": "jobs[0].create_time",
    "bad-project-id.json": "project_id",
    "bad-wildcard-topic.json": "msg_confirm_topic",
}


def refusal(response: dict[str, Any], status: int, code: str) -> str:
    """The error envelope of this status and DLI code; its message."""
    body = body_of(response)
    assert response["statusCode"] == status, body
    assert response["headers"]["Content-Type"] == "application/json"
    message = body["message"]
    assert body == {"is_success": False, "message": message, "error_code": code, "error_msg": message}
    return str(message)


def test_every_bad_event_of_the_events_folder_is_named_here():
    assert sorted(path.name for path in (EVENTS / "report").glob("bad-*.json")) == sorted(BAD_EVENTS)


@pytest.mark.parametrize(("name", "field"), BAD_EVENTS.items())
def test_bad_input_is_a_400_dli_0001_naming_the_field_and_no_dynamodb_call(reporter, ddb, name, field):
    calls = FaultyClient(ddb)
    message = refusal(reporter(client=calls)(load_event(f"report/{name}")), 400, "DLI.0001")
    assert message.startswith(field), message
    assert calls.calls == []
    RUN["bad inputs"].add(("handler", name))


def test_a_job_too_large_for_an_item_is_a_413_dli_0009_naming_the_field_and_no_dynamodb_call(reporter, ddb):
    calls = FaultyClient(ddb)
    body = report(job(job_id=1), job(job_id=2, plan="p" * 410_000))
    message = refusal(reporter(client=calls)(event(body)), 413, "DLI.0009")
    assert message.startswith("jobs[1].plan: the job is "), message
    assert calls.calls == []


def test_conflicting_reuse_of_message_id_is_422_and_writes_nothing(reporter, ddb):
    send = reporter()
    assert send(load_event("report/seed.json"))["statusCode"] == 200
    stored = everything(ddb)
    calls = FaultyClient(ddb)
    message = refusal(reporter(client=calls)(load_event("report/seed-conflict.json")), 422, "DLI.0006")
    assert message == "message_id: already used in this project with a different payload"
    # the ledger's conditional write tells the conflict, and writes nothing when it fails; beside it, the
    # report's first phase read the jobs' current items (docs/design.md: status runs)
    assert sorted(name for name, _ in calls.calls) == ["batch_get_item", "update_item"]
    assert [request["TableName"] for name, request in calls.calls if name == "update_item"] == [LEDGER_TABLE]
    assert everything(ddb) == stored


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", None), ("PUT", None), ("POST", "/v1/p/edgesrv/other"), ("POST", "/v1/p/extra/edgesrv/job-report")],
)
def test_an_unknown_route_or_method_is_api_gateways_404_and_no_dynamodb_call(reporter, ddb, method, path):
    calls = FaultyClient(ddb)
    response = reporter(client=calls)(event(report(job()), method=method, path=path))
    assert (response["statusCode"], body_of(response)) == (404, {"message": "Not Found"})
    assert calls.calls == []


# --- what only the handler sees: the content type, base64 -------------------------------------------

# HTTP API passes text types as they are and base64-encodes the rest (devkit.events.http_event).
CONTENT_TYPES = [
    None,
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/octet-stream",
    "image/png",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_a_body_is_read_as_json_whatever_its_content_type(handler, content_type):
    assert handler(event(report(job()), content_type=content_type))["statusCode"] == 200
    message = refusal(handler(event(b"{", content_type=content_type)), 400, "DLI.0001")
    assert message.startswith("body:"), message


def test_a_body_marked_base64_that_is_not_is_a_400(handler, ddb):
    sent = event(report(job()))
    sent |= {"isBase64Encoded": True, "body": "not base64!"}
    message = refusal(handler(sent), 400, "DLI.0001")
    assert message == "body: isBase64Encoded is set but the body is not valid base64"
    assert everything(ddb) == EMPTY
    encoded = event(report(job())) | {"isBase64Encoded": True}
    encoded["body"] = base64.b64encode(encoded["body"].encode()).decode()
    assert handler(encoded)["statusCode"] == 200


# --- generated bodies ---------------------------------------------------------------------------------

FIELDS = [
    "jobs",
    "message_id",
    "msg_confirm_topic",
    "job_id",
    "status",
    "create_time",
    "exceptions",
    "metrics",
    "plan",
    "extra",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.sampled_from(["job_running", "job_finish", "uuid", "a/+/b", "", "7", "1591104868201"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
jobs = st.dictionaries(st.sampled_from(FIELDS), values, max_size=7)
reports = st.fixed_dictionaries(
    {}, optional={"jobs": st.lists(jobs, max_size=4) | values, "message_id": values, "msg_confirm_topic": values}
)


def check_generated(handler: Any, ddb: Any, raw: bytes) -> None:
    before = everything(ddb)
    response = handler(event(raw))
    assert response["statusCode"] < 500, body_of(response)
    if response["statusCode"] >= 400:
        assert everything(ddb) == before
        assert body_of(response)["is_success"] is False
    RUN["fuzzed bodies"] += 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=reports)
def test_generated_reports_never_fail_the_server_or_write_on_refusal(handler, ddb, document):
    check_generated(handler, ddb, json.dumps(document).encode())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_generated_bytes_never_fail_the_server_or_write(handler, ddb, raw):
    check_generated(handler, ddb, raw)
