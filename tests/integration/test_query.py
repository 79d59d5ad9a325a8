"""The read function under moto: each route, pagination, tokens, silence (with the test's clock), the bad-parameter
battery (tests/support/query_battery.py), faults. (Each route's wiring over HTTP: tests/e2e/test_http.py.)"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from typing import Any

import pytest

from jobstatus import layout, lifecycle
from tests.support import JOB_TABLE, LEDGER_TABLE, PROJECT, RUN, job, load_event, report, seed_body
from tests.support.clients import FaultyClient, client_error
from tests.support.gateway import body_of, event, get_event, headers_of
from tests.support.query_battery import CASES, Case

pytestmark = pytest.mark.slow(110)


def ok(response: dict[str, Any]) -> dict[str, Any]:
    body = body_of(response)
    assert response["statusCode"] == 200, body
    assert body["is_success"] is True
    return dict(body)


def refused(response: dict[str, Any], status: int, code: str, field: str) -> str:
    body = body_of(response)
    assert response["statusCode"] == status, body
    assert (body["is_success"], body["error_code"], body["error_msg"]) == (False, code, body["message"])
    assert body["message"].startswith(field), body["message"]
    return str(body["message"])


def walk(read: Any, project: str, query: str = "", limit: int = 100) -> tuple[list[int], int]:
    """Every job_id of a listing, following next_token; and how many pages it took."""
    found, token, pages = [], None, 0
    while True:
        parameters = "&".join(p for p in (query, f"limit={limit}", f"next_token={token}" if token else "") if p)
        body = ok(read(get_event(f"/v1/{project}/edgesrv/jobs", parameters)))
        assert len(body["jobs"]) <= limit
        found += [j["job_id"] for j in body["jobs"]]
        pages += 1
        token = body["next_token"]
        if token is None:
            return found, pages
        assert pages < 500, "the walk does not end"


# --- GET job, the report lookup, the seed example --------------------------------------------


def test_seed_example_reads_back_as_a_failed_job_with_its_exceptions(reporter, reader, clock):
    assert reporter()(load_event("report/seed.json"))["statusCode"] == 200
    job = ok(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/99270")))["job"]
    assert job == {
        "job_id": 99270,
        "status": "job_submit_fail",
        "category": "failed",
        "create_time": 1591104868201,
        "status_since": 1591104868201,
        "reported_at": int(clock.now * 1000),
        "message_id": "uuid",
        "silent": False,
        "exceptions": seed_body()["jobs"][0]["exceptions"],
    }


def test_report_lookup_finds_the_stored_report(reporter, reader, clock):
    reporter()(load_event("report/seed.json"))
    found = ok(reader()(get_event(f"/v1/{PROJECT}/edgesrv/job-report", "message_id=uuid")))
    assert found["report"] == {"message_id": "uuid", "received_at": int(clock.now * 1000), "job_count": 1}


def test_unknown_job_and_unknown_report_are_404_dli_0002(reporter, reader):
    reporter()(load_event("report/seed.json"))
    read = reader()
    refused(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/1")), 404, "DLI.0002", "job_id")
    refused(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/1/history")), 404, "DLI.0002", "job_id")
    refused(read(get_event(f"/v1/{PROJECT}/edgesrv/job-report", "message_id=nope")), 404, "DLI.0002", "message_id")


def test_another_projects_job_and_report_are_not_found(reporter, reader):
    reporter()(load_event("report/seed.json"))
    read, other = reader(), "otherproject1"
    refused(read(get_event(f"/v1/{other}/edgesrv/jobs/99270")), 404, "DLI.0002", "job_id")
    refused(read(get_event(f"/v1/{other}/edgesrv/job-report", "message_id=uuid")), 404, "DLI.0002", "message_id")
    assert walk(read, other)[0] == []


def test_an_expired_ledger_entry_is_not_found(reporter, reader, clock, ddb):
    reporter()(load_event("report/seed.json"))
    clock.advance(7 * 86400 + 1)  # IdempotencyRetentionDays: moto never expires it, DynamoDB may lag 48 h
    refused(reader()(get_event(f"/v1/{PROJECT}/edgesrv/job-report", "message_id=uuid")), 404, "DLI.0002", "message_id")


def test_exceptions_too_large_for_the_current_item_are_read_from_the_history(reporter, reader, ddb):
    big = {"trace": "x" * 40_000, "n": 3.25}
    assert reporter()(event(report(job(job_id=5, status="job_running_exception", exceptions=big))))["statusCode"] == 200
    current = ddb.get_item(
        TableName=JOB_TABLE, Key={"pk": {"S": layout.job_pk(PROJECT, 5)}, "sk": {"S": layout.CURRENT_SK}}
    )["Item"]
    assert "exceptions" not in current
    assert current["exceptions_ref"]["S"].startswith(layout.HISTORY_PREFIX)
    got = ok(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/5")))["job"]["exceptions"]
    assert got == big
    listed = ok(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs", "category=failed")))["jobs"]
    assert listed[0]["exceptions"] == big


def test_numbers_come_back_exactly_as_stored(reporter, reader):
    raw = (
        '{"jobs":[{"job_id":8,"status":"job_running_exception","create_time":1,"exceptions":'
        '{"pi":3.14159265358979323846264338327950288,"big":123456789012345678901234567890}}],"message_id":"n"}'
    )
    assert reporter()(event(raw))["statusCode"] == 200
    response = reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/8"))
    assert '"pi":3.14159265358979323846264338327950288' in response["body"]
    assert '"big":123456789012345678901234567890' in response["body"]


def test_a_status_without_exceptions_drops_the_previous_ones(reporter, reader):
    send = reporter()
    send(event(report(job(job_id=6, status="job_running_exception", create_time=1, exceptions="boom"))))
    send(event(report(job(job_id=6, status="job_running", create_time=2))))
    assert "exceptions" not in ok(reader()(get_event(f"/v1/{PROJECT}/edgesrv/jobs/6")))["job"]


# --- order independence ------------------------------------------------------------------------

STATUSES = ["job_init", "job_running", "job_finish", "job_canceling", "job_cancel_success", "zz_future"]


def test_out_of_order_reports_read_back_as_the_in_order_run(reporter, reader):
    rng = random.Random(11)  # noqa: S311
    reports = [
        report(*[job(job_id=j, status=rng.choice(STATUSES), create_time=rng.randrange(10)) for j in (1, 2, 3)])
        for _ in range(12)
    ]
    send, read = reporter(), reader()
    shuffled = reports[:]
    rng.shuffle(shuffled)
    for project, order in (("inorder", reports), ("shuffled", shuffled)):
        for body in order:
            assert send(event(body, project=project))["statusCode"] == 200
    views = []
    for project in ("inorder", "shuffled"):
        jobs = {}
        for job_id in (1, 2, 3):
            found = ok(read(get_event(f"/v1/{project}/edgesrv/jobs/{job_id}")))["job"]
            jobs[job_id] = (found["status"], found["category"], found["create_time"])
        listed = {c: sorted(walk(read, project, f"category={c}")[0]) for c in lifecycle.CATEGORIES}
        views.append((jobs, listed))
    assert views[0] == views[1]


# --- listing and pagination ----------------------------------------------------------------------

FILTERS = [
    "",
    "category=running",
    "category=failed",
    "category=pending",
    "category=running,failed",
    "status=job_running",
    "status=job_init,job_submit_fail",
    "category=running&status=job_savepointing",
    "silent=false",
    "silent=true",
]


@pytest.fixture
def fifty_jobs(reporter) -> dict[str, Any]:
    """50 jobs in 3 categories (running, failed, pending), reported in two reports."""
    statuses = ["job_running", "job_savepointing", "job_submit_fail", "job_init"]
    project = f"p{uuid.uuid4().hex[:12]}"
    jobs = {job_id: statuses[job_id % 4] for job_id in range(1, 51)}
    send = reporter()
    items = [job(job_id=j, status=s, create_time=1_000 + j) for j, s in jobs.items()]
    for chunk in (items[:25], items[25:]):
        assert send(event(report(*chunk), project=project))["statusCode"] == 200
    return {"project": project, "jobs": jobs}


def expected(jobs: dict[int, str], query: str) -> set[int]:
    parameters = dict(p.split("=") for p in query.split("&") if p)
    keep = set(jobs)
    if "category" in parameters:
        keep &= {j for j, s in jobs.items() if lifecycle.category_of(s) in parameters["category"].split(",")}
    if "status" in parameters:
        keep &= {j for j, s in jobs.items() if s in parameters["status"].split(",")}
    if parameters.get("silent") == "true":
        keep = set()  # nothing has been quiet for SilentAfterMinutes yet
    return keep


# Every page size from 1 to 7 over three filters (all jobs, one category, a status in it), and
# every filter at the default page size: the walk, not the filter, is what the page size changes.
# One test over one set of jobs: reads write nothing, and reporting the fifty costs more than a walk.
SMALL_PAGES = ["", "category=running", "category=running&status=job_savepointing"]


def test_every_job_is_listed_exactly_once_per_filter_whatever_the_page_size(fifty_jobs, reader):
    read = reader()
    for limit in [*range(1, 8), 100]:
        for query in SMALL_PAGES if limit < 100 else FILTERS:
            found, pages = walk(read, fifty_jobs["project"], query, limit)
            assert Counter(found) == Counter(expected(fifty_jobs["jobs"], query)), (query, limit)
            assert pages <= len(found) // limit + layout.CATEGORY_SHARDS * len(lifecycle.CATEGORIES) + 1


def test_a_category_page_is_full_and_a_listed_job_is_a_whole_job(fifty_jobs, reader):
    body = ok(reader()(get_event(f"/v1/{fifty_jobs['project']}/edgesrv/jobs", "category=running&limit=10")))
    assert len(body["jobs"]) == 10
    assert body["next_token"]
    for listed in body["jobs"]:
        assert listed["category"] == "running"
        assert set(listed) >= {"job_id", "status", "category", "create_time", "reported_at", "message_id", "silent"}


def test_jobs_without_job_id_are_in_no_listing(reporter, reader):
    reporter()(load_event("report/no-job-id.json"))
    assert walk(reader(), PROJECT)[0] == []


def test_a_job_that_changes_category_is_listed_only_in_its_new_one(reporter, reader):
    send, read = reporter(), reader()
    send(event(report(job(job_id=9, status="job_running", create_time=1)), project="movers"))
    send(event(report(job(job_id=9, status="job_finish", create_time=2)), project="movers"))
    assert walk(read, "movers", "category=running")[0] == []
    assert walk(read, "movers", "category=finished")[0] == [9]
    assert walk(read, "movers")[0] == [9]


# --- tokens --------------------------------------------------------------------------------------


def first_token(read: Any, project: str, query: str = "limit=2") -> str:
    token = ok(read(get_event(f"/v1/{project}/edgesrv/jobs", query)))["next_token"]
    assert token
    return str(token)


def tampered(token: str) -> list[str]:
    payload, _, mac = token.partition(".")

    def flip(text: str, i: int) -> str:
        return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]

    return [
        flip(token, 3),  # an edited position
        flip(token, len(token) - 2),  # an edited MAC
        token[: len(token) // 2],  # truncated
        token[:-1],
        payload,  # no MAC
        f"{payload}.{mac}{mac}",
        token + "=",
    ]


def test_an_edited_or_truncated_token_is_a_400_that_reveals_nothing(fifty_jobs, reader):
    read, project = reader(), fifty_jobs["project"]
    messages = set()
    for bad in tampered(first_token(read, project)):
        response = read(get_event(f"/v1/{project}/edgesrv/jobs", f"limit=2&next_token={bad}"))
        messages.add(refused(response, 400, "DLI.0001", "next_token"))
    assert len(messages) == 1  # the same words whatever was wrong with it


def test_a_token_of_another_project_filter_or_route_is_refused_and_reveals_no_item(fifty_jobs, reporter, reader):
    read, project = reader(), fifty_jobs["project"]
    reporter()(event(report(job(job_id=77, status="job_running")), project="victim"))
    token = first_token(read, project)
    for path, query in [
        ("/v1/victim/edgesrv/jobs", f"limit=2&next_token={token}"),  # another project
        (f"/v1/{project}/edgesrv/jobs", f"category=running&limit=2&next_token={token}"),  # another filter
        (f"/v1/{project}/edgesrv/jobs/1/history", f"next_token={token}"),  # another route
    ]:
        response = read(get_event(path, query))
        refused(response, 400, "DLI.0001", "next_token")
        assert "77" not in response["body"]


def test_the_limit_may_change_between_pages(fifty_jobs, reader):
    read, project = reader(), fifty_jobs["project"]
    token = first_token(read, project, "category=running&limit=3")
    body = ok(read(get_event(f"/v1/{project}/edgesrv/jobs", f"category=running&limit=50&next_token={token}")))
    assert len(body["jobs"]) == len(expected(fifty_jobs["jobs"], "category=running")) - 3


# --- silence -------------------------------------------------------------------------------------


def test_an_active_job_turns_silent_after_the_threshold_and_a_heartbeat_clears_it(reporter, reader, clock):
    send, read = reporter(silent_after_minutes=1), reader(silent_after_minutes=1)
    send(
        event(
            report(
                job(job_id=1, status="job_running", create_time=1), job(job_id=2, status="job_finish", create_time=1)
            )
        )
    )

    def state(job_id: int) -> dict[str, Any]:
        return dict(ok(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/{job_id}")))["job"])

    clock.advance(60)  # exactly the threshold: not yet "longer than"
    assert state(1)["silent"] is False
    clock.advance(1)
    running = state(1)
    assert running["silent"] is True
    assert running["silent_since"] == running["reported_at"] + 60_000
    assert running["status"] == "job_running"  # silence is derived, never stored over the status
    assert state(2)["silent"] is False  # a finished job is never silent
    assert walk(read, PROJECT, "silent=true")[0] == [1]
    assert walk(read, PROJECT, "silent=false")[0] == [2]
    # a heartbeat: the same status, a newer create_time
    send(event(report(job(job_id=1, status="job_running", create_time=2))))
    assert state(1)["silent"] is False
    assert "silent_since" not in state(1)
    assert walk(read, PROJECT, "silent=true")[0] == []
    clock.advance(3600)
    assert state(2)["silent"] is False


def test_an_older_report_arriving_late_does_not_clear_silence(reporter, reader, clock):
    send, read = reporter(silent_after_minutes=1), reader(silent_after_minutes=1)
    send(event(report(job(job_id=3, status="job_running", create_time=10))))
    clock.advance(120)
    send(event(report(job(job_id=3, status="job_init", create_time=5))))  # older: does not move the status
    assert ok(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/3")))["job"]["silent"] is True


def test_silence_off_means_never_silent(reporter, reader, clock):
    send, read = reporter(silent_after_minutes=0), reader(silent_after_minutes=0)
    send(event(report(job(job_id=4, status="job_running"))))
    clock.advance(86400)
    assert ok(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/4")))["job"]["silent"] is False
    assert walk(read, PROJECT, "silent=true")[0] == []
    assert walk(read, PROJECT, "silent=false")[0] == [4]


def test_silent_listing_of_a_big_active_category_reads_only_the_silent_end(reporter, reader, clock, ddb):
    send = reporter(silent_after_minutes=30)
    for start in range(1, 201, 25):  # 200 running jobs, reported 2 hours ago...
        send(event(report(*[job(job_id=j, status="job_running") for j in range(start, start + 25)])))
    clock.advance(7200)
    for start in range(1, 196, 65):  # ...and all but 5 of them heartbeat now
        heartbeats = [
            job(job_id=j, status="job_running", create_time=2_000_000_000_000) for j in range(start, start + 65)
        ]
        assert send(event(report(*heartbeats)))["statusCode"] == 200
    counting = FaultyClient(ddb)
    found, _ = walk(reader(silent_after_minutes=30, client=counting), PROJECT, "silent=true")
    assert sorted(found) == [196, 197, 198, 199, 200]
    read_keys = sum(
        len(kwargs["RequestItems"][JOB_TABLE]["Keys"]) for name, kwargs in counting.calls if name == "batch_get_item"
    )
    assert read_keys == 5  # the index queries stop at the silence bound: no heartbeating job is fetched


# --- history -------------------------------------------------------------------------------------


def history(read: Any, job_id: int, query: str = "") -> tuple[list[dict[str, Any]], str | None]:
    body = ok(read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/{job_id}/history", query)))
    return body["history"], body["next_token"]


def test_history_is_newest_first_with_each_entry_as_sent(reporter, reader, clock):
    send = reporter()
    send(event(report(job(job_id=12, status="job_init", create_time=10, agent="v2"), message_id="m1")))
    clock.advance(5)
    send(event(report(job(job_id=12, status="job_running", create_time=20, metrics={"r": 1.5}), message_id="m2")))
    entries, token = history(reader(), 12)
    assert token is None
    assert entries == [
        {
            "job_id": 12,
            "status": "job_running",
            "create_time": 20,
            "metrics": {"r": 1.5},
            "received_at": int(clock.now * 1000),
            "message_id": "m2",
            "category": "running",
        },
        {
            "job_id": 12,
            "status": "job_init",
            "create_time": 10,
            "agent": "v2",
            "received_at": int((clock.now - 5) * 1000),
            "message_id": "m1",
            "category": "pending",
        },
    ]


def test_history_bounds_are_inclusive_and_pages_walk_every_entry_once(reporter, reader):
    send, read = reporter(), reader()
    send(event(report(*[job(job_id=13, status=f"s_{t}", create_time=t) for t in range(1, 21)])))
    assert [e["create_time"] for e in history(read, 13, "since=5&until=8")[0]] == [8, 7, 6, 5]
    seen, token = [], None
    while True:
        page, token = history(read, 13, "limit=3" + (f"&next_token={token}" if token else ""))
        seen += [e["create_time"] for e in page]
        if token is None:
            break
    assert seen == list(range(20, 0, -1))


def test_a_history_token_is_bound_to_its_job_and_bounds(reporter, reader):
    send, read = reporter(), reader()
    send(event(report(*[job(job_id=14, status="job_running", create_time=t, metrics={"t": t}) for t in range(1, 6)])))
    send(event(report(job(job_id=15))))
    _, token = history(read, 14, "limit=2")
    assert token
    refused(
        read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/15/history", f"limit=2&next_token={token}")),
        400,
        "DLI.0001",
        "next_token",
    )
    refused(
        read(get_event(f"/v1/{PROJECT}/edgesrv/jobs/14/history", f"since=1&limit=2&next_token={token}")),
        400,
        "DLI.0001",
        "next_token",
    )


def test_expired_history_entries_are_not_shown(reporter, reader, clock):
    reporter()(event(report(job(job_id=16))))
    clock.advance(30 * 86400 + 1)  # HistoryRetentionDays: moto never deletes it
    assert history(reader(), 16)[0] == []  # the job still exists: an empty history, not a 404


# --- bad parameters and faults -------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_bad_parameter_is_a_400_naming_it(reporter, reader, case: Case):
    reporter()(load_event("report/seed.json"))
    refused(reader()(get_event(case.path, case.query)), 400, "DLI.0001", case.field)
    RUN["bad inputs"].add(("handler", f"read: {case.name}"))


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"/v1/{PROJECT}/edgesrv/jobs/99270", ""),
        (f"/v1/{PROJECT}/edgesrv/jobs", "category=failed"),
        (f"/v1/{PROJECT}/edgesrv/jobs/99270/history", ""),
        (f"/v1/{PROJECT}/edgesrv/job-report", "message_id=uuid"),
    ],
)
def test_a_dynamodb_fault_is_a_retryable_503_with_no_internals(reporter, reader, ddb, path, query):
    reporter()(load_event("report/seed.json"))
    fault = client_error("ProvisionedThroughputExceededException", "Query", "x")
    faulty = FaultyClient(ddb, **{op: [fault] * 10 for op in ("get_item", "query", "batch_get_item")})
    response = reader(client=faulty)(get_event(path, query))
    refused(response, 503, "DLI.0999", "The request could not be served. Retry it.")
    assert headers_of(response)["retry-after"] == "1"
    assert not any(word in response["body"] for word in ("Exception", "Throughput", "Table", "dynamodb", "gsi"))
    RUN["faults"].add("throughput exceeded on every read")


def test_an_unknown_route_or_method_is_api_gateways_404(reader):
    for path in (f"/v1/{PROJECT}/edgesrv/other", f"/v1/{PROJECT}/edgesrv/jobs/1/history/x"):
        response = reader()(get_event(path))
        assert (response["statusCode"], body_of(response)) == (404, {"message": "Not Found"})


def test_reads_write_nothing(reporter, reader, ddb):
    reporter()(load_event("report/seed.json"))
    before = {t: ddb.scan(TableName=t)["Items"] for t in (JOB_TABLE, LEDGER_TABLE)}
    counting = FaultyClient(ddb)
    read = reader(client=counting)
    for case_path, query in [
        (f"/v1/{PROJECT}/edgesrv/jobs/99270", ""),
        (f"/v1/{PROJECT}/edgesrv/jobs", ""),
        (f"/v1/{PROJECT}/edgesrv/jobs/99270/history", ""),
        (f"/v1/{PROJECT}/edgesrv/job-report", "message_id=uuid"),
    ]:
        ok(read(get_event(case_path, query)))
    assert {name for name, _ in counting.calls} <= {"get_item", "query", "batch_get_item"}
    assert {t: ddb.scan(TableName=t)["Items"] for t in (JOB_TABLE, LEDGER_TABLE)} == before
    assert json.loads(json.dumps(before))  # the tables held something to compare
