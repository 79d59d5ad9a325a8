"""The bad-input battery against the handler, and generated bodies: never a 5xx, never a write on a 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import JOB_TABLE, LEDGER_TABLE, RUN, everything
from tests.support.gateway import body_of, event
from tests.support.report_battery import CASES, GOOD, GOOD_CONTENT_TYPES, Case, assert_refused

pytestmark = pytest.mark.slow(90)

EMPTY: dict[str, list[Any]] = {JOB_TABLE: [], LEDGER_TABLE: []}


@pytest.mark.parametrize("case", [c for c in CASES if not c.http_only], ids=lambda c: c.name)
def test_bad_input_is_refused_by_the_handler_and_writes_nothing(handler, ddb, case: Case):
    response = handler(event(case.body, project=case.project or "battery", content_type=case.content_type))
    assert_refused(case, response["statusCode"], body_of(response))
    assert everything(ddb) == EMPTY
    RUN["bad inputs"].add(("handler", case.name))


@pytest.mark.parametrize("name", GOOD)
def test_valid_edges_are_accepted_by_the_handler(handler, name):
    assert handler(event(GOOD[name]))["statusCode"] == 200


@pytest.mark.parametrize("content_type", GOOD_CONTENT_TYPES)
def test_any_content_type_is_read_as_json(handler, content_type):
    assert handler(event(GOOD["one job"], content_type=content_type))["statusCode"] == 200


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
