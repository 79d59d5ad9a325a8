"""The read routes over real HTTP, against the local stack as `make run` serves them."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobstatus import model
from tests.support import RUN, job, report, seed_body
from tests.support.http import reply_json
from tests.support.local import Local
from tests.support.query_battery import CASES, Case

pytestmark = pytest.mark.slow(65)


def ok(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply.raw
    body = dict(reply.json)
    assert body["is_success"] is True
    return body


def walk(local: Local, project: str, query: str, limit: int) -> list[int]:
    found, token = [], None
    for _ in range(500):
        parameters = "&".join(p for p in (query, f"limit={limit}", f"next_token={token}" if token else "") if p)
        body = ok(local.get(f"/v1/{project}/edgesrv/jobs", parameters))
        found += [j["job_id"] for j in body["jobs"]]
        token = body["next_token"]
        if token is None:
            return found
    raise AssertionError("the walk does not end")


def test_the_seed_example_reads_back_over_http(local: Local):
    project = uuid.uuid4().hex
    assert local.post(project, seed_body()).status == 200
    job = ok(local.get(f"/v1/{project}/edgesrv/jobs/99270"))["job"]
    assert (job["category"], job["silent"], job["status"]) == ("failed", False, "job_submit_fail")
    assert job["exceptions"] == seed_body()["jobs"][0]["exceptions"]
    found = ok(local.get(f"/v1/{project}/edgesrv/job-report", "message_id=uuid"))["report"]
    assert (found["message_id"], found["job_count"]) == ("uuid", 1)
    assert [j["job_id"] for j in ok(local.get(f"/v1/{project}/edgesrv/jobs", "category=failed"))["jobs"]] == [99270]
    assert ok(local.get(f"/v1/{project}/edgesrv/jobs", "category=running"))["jobs"] == []
    history = ok(local.get(f"/v1/{project}/edgesrv/jobs/99270/history"))["history"]
    assert [(e["status"], e["message_id"], e["category"]) for e in history] == [("job_submit_fail", "uuid", "failed")]


def test_out_of_order_reports_read_back_as_in_order_over_http(local: Local):
    rng = random.Random(5)  # noqa: S311
    statuses = ["job_init", "job_running", "job_finish", "job_canceling", "job_cancel_success"]
    bodies = [report(job(job_id=1, status=rng.choice(statuses), create_time=rng.randrange(8))) for _ in range(10)]
    shuffled = bodies[:]
    rng.shuffle(shuffled)
    views = []
    for order in (bodies, shuffled):
        project = uuid.uuid4().hex
        for body in order:
            assert local.post(project, body).status == 200
        found = ok(local.get(f"/v1/{project}/edgesrv/jobs/1"))["job"]
        views.append((found["status"], found["create_time"], found["category"]))
    assert views[0] == views[1]


@pytest.fixture(scope="module")
def fifty(local: Local) -> dict[str, Any]:
    project = uuid.uuid4().hex
    statuses = ["job_running", "job_savepointing", "job_submit_fail", "job_init"]
    jobs = {j: statuses[j % 4] for j in range(1, 51)}
    items = [job(job_id=j, status=s, create_time=1_000 + j) for j, s in jobs.items()]
    for chunk in (items[:25], items[25:]):
        assert local.post(project, report(*chunk)).status == 200
    return {"project": project, "jobs": jobs}


@pytest.mark.parametrize("limit", range(1, 8))
@pytest.mark.parametrize("query", ["", "category=failed,pending"])
def test_pages_over_http_list_every_job_exactly_once(local: Local, fifty: dict[str, Any], query: str, limit: int):
    jobs = fifty["jobs"]
    wanted = set(jobs)
    if query.startswith("category="):
        wanted = {j for j in jobs if model.category_of(jobs[j]) in query.split("=")[1].split(",")}
    if query.startswith("status="):
        wanted = {j for j in jobs if jobs[j] == query.split("=")[1]}
    assert Counter(walk(local, fifty["project"], query, limit)) == Counter(wanted)


def test_edited_truncated_and_foreign_tokens_are_400_over_http(local: Local, fifty: dict[str, Any]):
    project = fifty["project"]
    token = ok(local.get(f"/v1/{project}/edgesrv/jobs", "limit=2"))["next_token"]
    victim = uuid.uuid4().hex
    assert local.post(victim, report(job(job_id=4242))).status == 200
    for path, query in [
        (f"/v1/{project}/edgesrv/jobs", f"limit=2&next_token={token[:-3]}"),
        (f"/v1/{project}/edgesrv/jobs", f"limit=2&next_token=A{token[1:]}"),
        (f"/v1/{project}/edgesrv/jobs", f"category=failed&limit=2&next_token={token}"),
        (f"/v1/{victim}/edgesrv/jobs", f"limit=2&next_token={token}"),
    ]:
        reply = local.get(path, query)
        assert reply.status == 400, reply.raw
        assert reply.json["error_code"] == "DLI.0001"
        assert reply.json["message"].startswith("next_token:")
        assert b"4242" not in reply.raw


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_parameters_over_http_are_400_naming_them(local: Local, case: Case):
    reply = local.get(case.path, case.query)
    assert reply.status == 400, (case.name, reply.raw)
    assert (reply.json["error_code"], reply.json["is_success"]) == ("DLI.0001", False)
    assert reply.json["message"].startswith(case.field), reply.json["message"]
    RUN["bad inputs"].add(("http", f"read: {case.name}"))


def test_make_run_prints_how_to_read_the_seed_back(local: Local):
    text = local.log.read_text()
    first_read = text.split("Then read it back:\n")[1].splitlines()[0]
    assert first_read.endswith("/v1/48cc2c48765f481480c7db940d6409d1/edgesrv/jobs/99270")
    for route in ("GET    ", "/edgesrv/jobs/{job_id}/history", "/edgesrv/job-report  (JobQueryFunction)"):
        assert route in text


class Failing(BaseHTTPRequestHandler):
    """A DynamoDB endpoint that answers every call with a 500 InternalServerError."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        payload = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "x"})
        reply_json(self, 500, payload.encode(), {"content-type": "application/x-amz-json-1.0"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def failing_dynamodb() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_dynamodb_fault_over_http_is_a_retryable_503_with_no_internals(
    start: Callable[..., Local], failing_dynamodb: str
):
    # The functions' DynamoDB endpoint (a service-specific variable wins over the stack's AWS_ENDPOINT_URL)
    local = start("--quiet", env={"AWS_ENDPOINT_URL_DYNAMODB": failing_dynamodb})
    project = uuid.uuid4().hex
    for path, query in [
        (f"/v1/{project}/edgesrv/jobs/1", ""),
        (f"/v1/{project}/edgesrv/jobs", "category=failed"),
        (f"/v1/{project}/edgesrv/jobs/1/history", ""),
        (f"/v1/{project}/edgesrv/job-report", "message_id=m"),
    ]:
        reply = local.get(path, query)
        assert reply.status == 503, reply.raw
        assert reply.headers["retry-after"] == "1"
        assert reply.json["error_code"] == "DLI.0999"
        assert not any(w in reply.raw for w in (b"InternalServerError", b"Table", b"dynamodb", b"Traceback"))
    RUN["faults"].add("InternalServerError on every read (over HTTP)")
