"""Validation rules and the canonical form, without AWS: the bad-input battery (tests/support/
report_battery.py) against the report use case, each case refused before any DynamoDB call; and what a
case cannot say (the forms accepted, the wording of a message, the canonical form and its hash)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devkit.capacity import write_units
from jobstatus import jsonvalue
from jobstatus.dynamodb import item_size
from jobstatus.errors import InvalidRequest, ServiceError
from jobstatus.http import ERRORS
from jobstatus.jsonvalue import canonical
from jobstatus.lifecycle import KNOWN_STATUSES, MAX_CREATE_TIME, MAX_JOB_ID, TERMINAL_STATUSES, status_rank
from report.confirm import ConfirmationPublisher
from report.models import job_document, parse_report
from report.service import ReportService, _payload_hash
from report.settings import ReportSettings
from report.store import JobStatusStore
from tests.support import PROJECT, REPORT_FUNCTION, RUN, TEMPLATE, job, report, seed_body
from tests.support.clients import Offline
from tests.support.report_battery import CASES, GOOD, Case, assert_refused


def parse(body: Any, max_jobs: int = 100) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_report(raw, max_jobs=max_jobs)


def refused(body: Any, max_jobs: int = 100) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse(body, max_jobs)
    return caught.value.message


def use_case(confirm_prefix: str | None = None) -> tuple[ReportService, Offline]:
    """The report use case with template.yaml's settings (and the confirmation publish on, under this
    prefix), on clients of no service: (the use case, what it called, DynamoDB and IoT alike)."""
    settings = ReportSettings.from_env(TEMPLATE.function(REPORT_FUNCTION).environment)
    aws = Offline()
    store = JobStatusStore(
        aws,
        job_table=settings.job_status_table,
        ledger_table=settings.idempotency_table,
        history_ttl_s=settings.history_retention_days * 86400,
        ledger_ttl_s=settings.ledger_retention_days * 86400,
        silent_after_minutes=settings.silent_after_minutes,
    )
    publisher = ConfirmationPublisher(aws) if confirm_prefix is not None else None
    service = ReportService(
        store, max_jobs=settings.max_jobs_per_report, publisher=publisher, topic_prefix=confirm_prefix or ""
    )
    return service, aws


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_is_refused_naming_the_field_before_any_call(case: Case):
    service, aws = use_case(case.confirm_prefix)
    project = unquote(case.project) if case.project is not None else PROJECT  # as API Gateway passes it
    with pytest.raises(ServiceError) as caught:
        service.accept(project, service.parse(project, case.body))
    status, code, _ = ERRORS[type(caught.value)]
    assert_refused(case, int(status), code, caught.value.message)
    assert aws.calls == []  # nothing written, nothing published
    RUN["bad inputs"].add(("unit", case.name))


@pytest.mark.parametrize("name", GOOD)
def test_valid_edges_are_accepted_and_reach_dynamodb(name: str):
    service, aws = use_case()
    outcome = service.accept(PROJECT, service.parse(PROJECT, GOOD[name]))
    assert not outcome.replayed
    assert aws.calls[0] == "update_item"  # the ledger's claim, then the writes
    assert "batch_write_item" in aws.calls


def test_seed_example_parses():
    parsed = parse(seed_body())
    assert parsed.jobs[0].job_id == 99270
    assert parsed.jobs[0].exceptions["error_id"] == "Agent.51000"


@pytest.mark.parametrize(("sent", "stored"), [(7, 7), ("7", 7), ("007", 7), (7.0, 7), (MAX_JOB_ID, MAX_JOB_ID)])
def test_job_id_accepts_integers_and_digit_strings(sent, stored):
    assert parse(report(job(job_id=sent))).jobs[0].job_id == stored


@pytest.mark.parametrize("sent", [0, MAX_CREATE_TIME, "1591104868201"])
def test_create_time_range_is_inclusive(sent):
    assert parse(report(job(create_time=sent))).jobs[0].create_time == int(sent)


def test_huge_exponents_are_refused_as_written_never_expanded():
    # Expanded, 1e999999999 would be a billion digits: the message shows the exponent as sent.
    raw = b'{"jobs":[{"status":"s","create_time":1e999999999,"job_id":1e999999999}],"message_id":"m"}'
    assert refused(raw) == "jobs[0].job_id: is out of range, got 1E+999999999 (and 1 more)"


def test_boolean_message_is_plain_about_booleans():
    assert "boolean" in refused(report(job(job_id=True)))


@pytest.mark.parametrize("status", ["job_running", "x", "A.b-c_9", "s" * 64, "job_from_the_future"])
def test_status_pattern_accepts(status):
    assert parse(report(job(status=status))).jobs[0].status == status


def test_message_id_takes_any_printable_unicode():
    assert parse(report(job(), message_id="ünïcödé 🚀 #+/")).message_id == "ünïcödé 🚀 #+/"


def test_topic_is_optional():
    assert parse(report(job())).msg_confirm_topic is None


def test_jobs_count_bounds():
    assert len(parse(report(*[job(job_id=i) for i in range(1, 4)]), max_jobs=3).jobs) == 3
    assert (
        refused(report(*[job(job_id=i) for i in range(1, 5)]), max_jobs=3) == "jobs: at most 3 jobs per report, got 4"
    )


def test_several_errors_report_the_first_and_a_count():
    assert refused({"jobs": [{}], "message_id": 5}) == "jobs[0].status: field required (and 2 more)"


def test_long_bad_values_are_not_echoed_back():
    message = refused(report(job(job_id="9" * 5000)))
    assert len(message) < 150


def test_bom_is_tolerated():
    assert parse(b"\xef\xbb\xbf" + json.dumps(report(job())).encode()).jobs[0].status == "job_running"


def test_extra_fields_are_kept():
    parsed = parse(report(job(agent_version="2.0"), edge_node="node-1"))
    assert parsed.jobs[0].model_extra == {"agent_version": "2.0"}
    assert parsed.model_extra == {"edge_node": "node-1"}


def test_numbers_take_one_form_so_equal_values_store_identically():
    parsed = parse(
        b'{"jobs":[{"status":"s","create_time":1,"metrics":{"a":1.50,"b":2.0,"c":1E2,"d":-0.0}}],"message_id":"m"}'
    )
    assert parsed.jobs[0].metrics == {"a": Decimal("1.5"), "b": 2, "c": 100, "d": 0}


def test_high_precision_numbers_are_kept_exactly():
    parsed = parse(
        b'{"jobs":[{"status":"s","create_time":1,"metrics":{"pi":3.14159265358979323846264338327950288}}],"message_id":"m"}'
    )
    assert str(parsed.jobs[0].metrics["pi"]) == "3.14159265358979323846264338327950288"


def test_canonical_ignores_key_order_and_number_spelling():
    a = parse(b'{"message_id":"m","jobs":[{"job_id":"7","status":"s","create_time":1,"metrics":{"x":1.0,"y":[2.50]}}]}')
    b = parse(b'{"jobs":[{"metrics":{"y":[2.5],"x":1},"create_time":1.0,"status":"s","job_id":7}],"message_id":"m"}')
    assert canonical(a.model_dump()) == canonical(b.model_dump())


def test_canonical_tells_text_from_object():
    assert canonical({"a": "1"}) != canonical({"a": 1})
    assert canonical({"a": '{"b": 1}'}) != canonical({"a": {"b": 1}})


def test_canonical_is_compact_sorted_json():
    text = canonical({"b": [1, Decimal("2.5"), None, True], "a": "é"})
    assert text == '{"a":"é","b":[1,2.5,null,true]}'


# JSON values as a parsed report holds them: integers, exact Decimals (fractions), any Unicode text
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_the_fast_encoder_writes_what_the_plain_one_writes(value: Any):
    # json's C encoder serves the values it can write; the plain recursive writer is the definition
    assert canonical(value) == jsonvalue._written(value, sort_keys=True)
    assert jsonvalue.dumps(value) == jsonvalue._written(value, sort_keys=False)


@pytest.mark.parametrize(
    "body",
    [
        seed_body(),
        report(job(job_id="7", metrics={"b": [1.50, 2.0], "a": 1}), job(job_id=None, plan="p"), edge_node="n-1"),
        report(job(), msg_confirm_topic="hw/t"),
    ],
    ids=["seed", "numbers, extras and a job without job_id", "topic"],
)
def test_payload_hash_is_the_sha256_of_the_canonical_body(body):
    # Given a parsed report, and the same body in canonical form built independently
    parsed = parse(body)
    document = {
        **(parsed.model_extra or {}),
        "jobs": [job_document(j) for j in parsed.jobs],
        "message_id": parsed.message_id,
    }
    if parsed.msg_confirm_topic is not None:
        document["msg_confirm_topic"] = parsed.msg_confirm_topic
    # Then the ledger's payload hash is exactly sha256 of that canonical JSON
    texts = [canonical(job_document(j)) for j in parsed.jobs]
    expected = hashlib.sha256(canonical(document).encode()).hexdigest()
    assert _payload_hash(parsed, texts, dict(parsed.model_extra or {})) == expected


def test_status_rank_is_a_total_order_with_terminal_statuses_on_top():
    statuses = sorted(KNOWN_STATUSES | {"aaa", "zzz", "job_new"}, key=status_rank)
    terminal = [s for s in statuses if s in TERMINAL_STATUSES]
    assert statuses[-len(terminal) :] == terminal
    assert len({status_rank(s) for s in statuses}) == len(statuses)


def test_item_size_follows_dynamodb_rules():
    # Names and string values count their UTF-8 bytes; numbers about one byte per two digits, plus one.
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"m": {"M": {"k": {"S": "vv"}}}}) == 1 + 3 + (1 + 2 + 1)
    assert item_size({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 2 * (1 + 1)
    assert write_units({"s": {"S": "x" * 1023}}) == 1
    assert write_units({"s": {"S": "x" * 1024}}) == 2


def test_payload_hash_format_is_pinned_across_releases():
    # The ledger keeps this hash for days: if the canonical form changed in a release, a retry sent
    # across the deploy would be refused as a conflict (422). So the exact bytes are pinned here.
    parsed = parse({"message_id": "m", "jobs": [{"job_id": "7", "status": "s", "create_time": 1.0, "plan": None}]})
    text = '{"jobs":[{"create_time":1,"job_id":7,"status":"s"}],"message_id":"m"}'
    texts = [canonical(job_document(j)) for j in parsed.jobs]
    assert _payload_hash(parsed, texts, {}) == hashlib.sha256(text.encode()).hexdigest()
