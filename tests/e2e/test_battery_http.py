"""The bad-input battery over real HTTP, against the local API: status, envelope, field, nothing written."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support import RUN
from tests.support.local import Local
from tests.support.report_battery import CASES, GOOD, GOOD_CONTENT_TYPES, Case, assert_refused


def counts(local: Local) -> tuple[int, int]:
    client = local.dynamodb()
    jobs, ledger = (client.scan(TableName=t, Select="COUNT")["Count"] for t in ("JobStatusTable", "IdempotencyTable"))
    return int(jobs), int(ledger)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_over_http_is_refused_and_writes_nothing(local: Local, case: Case):
    before = counts(local)
    project = case.project or uuid.uuid4().hex
    reply = local.post(project, case.body, content_type=case.content_type)
    assert_refused(case, reply.status, json.loads(reply.raw))
    assert counts(local) == before
    RUN["bad inputs"].add(("http", case.name))


@pytest.mark.parametrize("name", GOOD)
def test_valid_edges_over_http_are_accepted(local: Local, name: str):
    assert local.post(uuid.uuid4().hex, GOOD[name]).status == 200


@pytest.mark.parametrize("content_type", GOOD_CONTENT_TYPES)
def test_any_content_type_over_http_is_read_as_json(local: Local, content_type: str | None):
    assert local.post(uuid.uuid4().hex, GOOD["one job"], content_type=content_type).status == 200
