"""The local API over real HTTP, as an edge agent calls it."""

from __future__ import annotations

import json
import uuid

from localapi.explorer import SWAGGER_UI
from tests.support import PROJECT, RUN, SUCCESS, TEMPLATE, deserialize, job, load_event, report
from tests.support.local import Local


def seed_raw() -> bytes:
    return str(load_event("report/seed.json")["body"]).encode()


def test_seed_example_over_http_is_stored(local: Local):
    project = uuid.uuid4().hex
    reply = local.post(project, seed_raw())
    assert reply.status == 200
    assert reply.json == SUCCESS
    assert reply.headers["content-type"] == "application/json"
    items = local.dynamodb().query(
        TableName="JobStatusTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{project}#JOB#99270"}},
    )["Items"]
    history = [deserialize(i) for i in items if i["sk"]["S"] != "CURRENT"]
    assert history[0]["exceptions"]["error_type"] == "JOB_SUBMIT_EXCEPTION"
    ledger = local.dynamodb().get_item(TableName="IdempotencyTable", Key={"pk": {"S": f"{project}#uuid"}})
    assert "Item" in ledger


def test_retry_over_http_is_a_replay(local: Local):
    body = report(job(job_id=5))
    first, again = local.post(PROJECT, body), local.post(PROJECT, body)
    assert (first.status, again.status) == (200, 200)
    assert first.raw == again.raw
    assert again.headers.get("idempotent-replayed") == "true"


def test_conflict_over_http_is_422(local: Local):
    body = report(job(job_id=6))
    assert local.post(PROJECT, body).status == 200
    reply = local.post(PROJECT, body | {"jobs": [job(job_id=6, status="job_finish")]})
    assert reply.status == 422
    assert reply.json["error_code"] == "DLI.0006"


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
    if SWAGGER_UI.exists():  # vendored by `make run` / `make tools` where npm is available
        assert b'src="/swagger/assets/swagger-ui-bundle.js"' in page.raw
        script = local.request("GET", "/swagger/assets/swagger-ui-bundle.js")
        assert (script.status, script.headers["content-type"]) == (200, "application/javascript")
        assert len(script.raw) > 100_000
    assert local.request("GET", "/swagger/assets/../../template.yaml").status == 404
    spec = local.request("GET", "/swagger/openapi.json").json
    assert spec["servers"] == [{"url": f"http://127.0.0.1:{local.port}", "description": "make run"}]
    assert "/v1/{project_id}/edgesrv/job-report" in spec["paths"]
