"""`sam local invoke` and `sam local start-lambda`: every function of template.yaml, every event in events/
(tests/infra/samlocal.py says how)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from jobstatus import model
from tests.infra.samlocal import LOCAL_TIMEOUT_S, MARKS, Stage, answered, event_files, run_sam, runtime, serve
from tests.support import EVENTS, SUCCESS

pytestmark = [*MARKS, pytest.mark.slow(200)]


# --- sam local invoke ----------------------------------------------------------------------------


def test_sam_local_invoke_answers_the_seed_with_the_contracts_envelope_and_stores_it(sam: str, stage: Stage):
    result = run_sam(
        sam,
        "local",
        "invoke",
        "JobReportFunction",
        "--template",
        str(stage.template),
        "--event",
        str(EVENTS / "report" / "seed.json"),
        "--env-vars",
        str(stage.env_vars),
        "--skip-pull-image",
        *runtime().options,
    )
    said = result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0, said
    assert result.stdout.strip(), said
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200, result.stdout[-2000:] + result.stderr[-2000:]
    assert json.loads(response["body"]) == SUCCESS
    history = [i for i in stage.items() if i["sk"].startswith(model.HISTORY_PREFIX) and i["message_id"] == "uuid"]
    assert history[0]["exceptions"]["error_type"] == "JOB_SUBMIT_EXCEPTION"


# --- every function and every event, through start-lambda -----------------------------------------


def message_id(event: dict[str, Any]) -> Any:
    raw = event["body"]
    return json.loads(base64.b64decode(raw) if event["isBase64Encoded"] else raw).get("message_id")


def report_expectation(path: Path, events: dict[str, dict[str, Any]], recorded: set[str]) -> tuple[int, bool]:
    """(status, writes something) for a report event, by its name (see the module docstring).

    `recorded` holds the message_ids in the ledger already: the invoke test above sent the seed.
    """
    if path.stem.startswith("bad-"):
        return 400, False
    parts = path.stem.split("-")
    originals = ["-".join(parts[:end]) for end in range(1, len(parts)) if "-".join(parts[:end]) in events]
    if originals and message_id(events[originals[-1]]) == message_id(events[path.stem]):
        return (422, False) if path.stem.endswith("-conflict") else (200, False)
    return 200, message_id(events[path.stem]) not in recorded


@pytest.fixture(scope="module")
def lambdas(sam: str, stage: Stage) -> Iterator[Any]:
    with serve(sam, stage, "start-lambda") as port:
        yield boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            config=Config(read_timeout=LOCAL_TIMEOUT_S + 60, retries={"max_attempts": 0}),
        )


def invoke(lambdas: Any, function: str, event: dict[str, Any]) -> Any:
    def attempt() -> Any:
        answer = lambdas.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        assert "FunctionError" not in answer, answer["Payload"].read()[:2000]
        return json.loads(answer["Payload"].read())

    return answered(attempt, lambda result: result.get("statusCode", 0) if isinstance(result, dict) else 0)


def test_every_report_event_gets_its_answer_and_writes_what_it_should(lambdas: Any, stage: Stage):
    events = {p.stem: json.loads(p.read_text()) for p in event_files("report")}
    ordered = sorted(
        event_files("report"), key=lambda p: (p.stem.split("-")[0] != "seed", len(p.stem.split("-")), p.stem)
    )
    for path in ordered:
        recorded = {i["message_id"] for i in stage.items("IdempotencyTable")}
        status, writes = report_expectation(path, events, recorded)
        before = len(stage.items()) + len(stage.items("IdempotencyTable"))
        response = invoke(lambdas, "JobReportFunction", events[path.stem])
        after = len(stage.items()) + len(stage.items("IdempotencyTable"))
        assert response["statusCode"] == status, (path.name, response)
        assert (after > before) is writes, path.name
        if path.stem == "seed":
            assert json.loads(response["body"]) in (SUCCESS,)


def test_every_read_event_is_answered_by_the_query_function(lambdas: Any, stage: Stage):
    invoke(lambdas, "JobReportFunction", json.loads((EVENTS / "report" / "seed.json").read_text()))  # idempotent
    for path in event_files("query"):
        response = invoke(lambdas, "JobQueryFunction", json.loads(path.read_text()))
        body = json.loads(response["body"])
        if path.stem.startswith("bad-"):
            assert (response["statusCode"], body["error_code"]) == (400, "DLI.0001"), path.name
        else:
            assert response["statusCode"] == 200, (path.name, body)
    job = json.loads(
        invoke(lambdas, "JobQueryFunction", json.loads((EVENTS / "query" / "get-job.json").read_text()))["body"]
    )["job"]
    assert (job["category"], job["silent"]) == ("failed", False)


def test_the_stream_consumer_publishes_a_stream_records_event_to_eventbridge(lambdas: Any, stage: Stage):
    sqs, bus = stage.client("sqs"), stage.client("events")
    url = sqs.create_queue(QueueName="sam-local-watch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus.put_rule(Name="sam-local-watch", EventPattern=json.dumps({"source": ["edgesrv.jobs"]}))
    bus.put_targets(Rule="sam-local-watch", Targets=[{"Id": "q", "Arn": arn}])
    for path in event_files("notify"):
        assert invoke(lambdas, "JobEventsFunction", json.loads(path.read_text())) == {"batchItemFailures": []}
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    (published,) = [json.loads(m["Body"]) for m in messages]
    assert (published["detail-type"], published["detail"]["job_id"]) == ("Job Status Changed", 99270)


def test_the_silence_sweep_runs_on_its_scheduled_event(lambdas: Any):
    for path in event_files("sweep"):
        summary = invoke(lambdas, "SilenceSweepFunction", json.loads(path.read_text()))
        assert set(summary) >= {"candidates", "marked", "unfiled", "pending"}
