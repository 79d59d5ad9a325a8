"""The local API over real HTTP: what only HTTP has (routing, the 6 MB limit, content types and base64),
each route's wiring once (the seed stored and read back), the root page and the API explorer."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support import PROJECT, RUN, SUCCESS, TEMPLATE, job, load_event, report, seed_body
from tests.support.local import Local, Reply, wait_for

READS = ("get-job.json", "list-failed.json", "history.json", "report-lookup.json", "summary.json")


def ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply.raw
    body = dict(reply.json)
    assert body["is_success"] is True
    return body


def test_each_route_is_wired_the_seed_stored_and_read_back_on_every_read_route(local: Local):
    # Given the seed example as events/report/seed.json sends it, to a project of this test's own
    project = uuid.uuid4().hex
    seed = load_event("report/seed.json")
    sent = local.request("POST", seed["rawPath"].replace(PROJECT, project), seed["body"].encode(), seed["headers"])
    assert (sent.status, sent.json, sent.headers["content-type"]) == (200, SUCCESS, "application/json")
    # When each read of events/query/ is sent (what `make run` prints to curl), one for every GET route
    reads = {name: load_event(f"query/{name}") for name in READS}
    assert {e["routeKey"] for e in reads.values()} == {r.route_key for r in TEMPLATE.routes() if r.method == "GET"}

    def read(name: str) -> dict[str, Any]:
        return ok(local.get(reads[name]["rawPath"].replace(PROJECT, project), reads[name]["rawQueryString"]))

    # Then each finds the seed: the job, the listing of its category, its history, the report
    found = read("get-job.json")["job"]
    assert (found["category"], found["silent"], found["status"]) == ("failed", False, "job_submit_fail")
    assert found["exceptions"] == seed_body()["jobs"][0]["exceptions"]
    assert [j["job_id"] for j in read("list-failed.json")["jobs"]] == [99270]
    entries = read("history.json")["history"]
    assert [(e["status"], e["message_id"], e["category"]) for e in entries] == [("job_submit_fail", "uuid", "failed")]
    assert (read("report-lookup.json")["report"]["message_id"], read("report-lookup.json")["report"]["job_count"]) == (
        "uuid",
        1,
    )
    # and the summary counts it, once the local stream mapping has handed the change to the events function
    counted = {"error_type": "JOB_SUBMIT_EXCEPTION", "error_id": "Agent.51000", "jobs": 1}
    # (at most 30 s: the mapping polls every fraction of a second)
    summary = wait_for(lambda: read("summary.json")["summary"], lambda found: found["failure_reasons"] == [counted])
    assert (summary["jobs"], summary["categories"]["failed"], summary["failure_reasons"]) == (1, 1, [counted])


def test_binary_content_type_arrives_base64_and_is_decoded(local: Local):
    reply = local.post(PROJECT, report(job(job_id=7)), content_type="application/octet-stream")
    assert reply.status == 200, reply.json


def test_no_content_type_is_accepted(local: Local):
    assert local.post(PROJECT, report(job(job_id=8)), content_type=None).status == 200


def test_unknown_route_and_method_are_404(local: Local):
    for method, path in [
        ("DELETE", f"/v1/{PROJECT}/edgesrv/job-report"),
        ("PUT", f"/v1/{PROJECT}/edgesrv/job-report"),
        ("POST", f"/v1/{PROJECT}/edgesrv/jobs"),
        ("GET", f"/v1/{PROJECT}/edgesrv/jobs/1/history/more"),
        ("POST", f"/v1/{PROJECT}/edgesrv/other"),
        ("POST", "/"),
        ("POST", f"/v1/{PROJECT}/extra/edgesrv/job-report"),
    ]:
        reply = local.request(method, path, b"{}")
        assert reply.status == 404, (method, path)
        assert reply.json == {"message": "Not Found"}


def test_the_root_page_locally_lists_every_route_and_points_at_the_explorer(local: Local):
    page = local.request("GET", "/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.raw.decode()
    for route in TEMPLATE.routes():
        assert f"{route.method} http://127.0.0.1:{local.port}{route.path}" in text
    assert 'href="/swagger"' in text
    assert local.request("GET", "/other").json == {"message": "Not Found"}  # only / itself


def test_encoded_slash_in_project_id_is_refused(local: Local):
    reply = local.request("POST", "/v1/abc%2Fdef/edgesrv/job-report", json.dumps(report(job())).encode())
    assert reply.status in (400, 404)


def test_body_over_6_mb_is_api_gateways_413_not_the_functions_envelope(local: Local):
    # Lambda refuses the event before the function runs, so the deployed stack answers in API
    # Gateway's form (docs/design.md, "A body over 6 MB"); a job too big for an item is the function's.
    reply = local.post(PROJECT, b'{"pad": "' + b"x" * (6 * 1024 * 1024) + b'"}')
    assert (reply.status, reply.json) == (413, {"message": "Request Entity Too Large"})
    assert reply.headers["content-type"] == "application/json"
    RUN["bad inputs"].add(("http", "body over 6 MB"))


def test_query_string_is_ignored(local: Local):
    assert (
        local.request("POST", f"/v1/{PROJECT}/edgesrv/job-report?x=1", json.dumps(report(job())).encode()).status == 200
    )


def test_api_explorer_serves_swagger_ui_and_the_document_for_the_local_route(local: Local):
    page = local.request("GET", "/swagger")
    assert page.status == 200
    assert b"swagger-ui" in page.raw
    assert b"/swagger/openapi.json" in page.raw
    if b'src="/swagger/assets/swagger-ui-bundle.js"' in page.raw:  # vendored (make run, where npm is)
        script = local.request("GET", "/swagger/assets/swagger-ui-bundle.js")
        assert (script.status, script.headers["content-type"]) == (200, "application/javascript")
        assert len(script.raw) > 100_000
    else:  # else from a CDN
        assert b'src="https://' in page.raw
    assert local.request("GET", "/swagger/assets/../../template.yaml").status == 404
    spec = local.request("GET", "/swagger/openapi.json").json
    assert spec["servers"] == [{"url": f"http://127.0.0.1:{local.port}", "description": "make run"}]
    assert "/v1/{project_id}/edgesrv/job-report" in spec["paths"]
