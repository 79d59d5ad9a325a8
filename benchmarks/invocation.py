"""What the harness hands each design per invocation: a report of 1, 25 or 100 jobs as an HTTP API
(ours) or REST API (canonical) event, the Lambda context, the trace header."""

import json
import os
import time
import uuid
from typing import Any

PROJECT = "48cc2c48765f481480c7db940d6409d1"
PATH = f"/v1/{PROJECT}/edgesrv/job-report"
# A report's job i: job_id FIRST_JOB_ID + i, created at FIRST_CREATE_TIME + i, in STATUS.
FIRST_JOB_ID, FIRST_CREATE_TIME, STATUS = 99270, 1591104868201, "job_running"


def body(jobs: int, message_id: str | None = None) -> str:
    return json.dumps(
        {
            "jobs": [
                {
                    "job_id": FIRST_JOB_ID + i,
                    "status": STATUS,
                    "create_time": FIRST_CREATE_TIME + i,
                    "exceptions": {"error_id": "Agent.51000", "error_type": "JOB_SUBMIT_EXCEPTION", "exception": ""},
                }
                for i in range(jobs)
            ],
            "msg_confirm_topic": "hw/events/messages/dli/message/confirm",
            "message_id": message_id or str(uuid.uuid4()),
        }
    )


def http_event(jobs: int, message_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /v1/{project_id}/edgesrv/job-report",
        "rawPath": PATH,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": PATH},
            "requestId": uuid.uuid4().hex,
            "stage": "$default",
            "routeKey": "POST /v1/{project_id}/edgesrv/job-report",
        },
        "pathParameters": {"project_id": PROJECT},
        "body": body(jobs, message_id),
        "isBase64Encoded": False,
    }


def rest_event(jobs: int, message_id: str | None = None) -> dict[str, Any]:
    return {
        "resource": "/v1/{project_id}/edgesrv/job-report",
        "path": PATH,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"project_id": PROJECT},
        "requestContext": {
            "requestId": uuid.uuid4().hex,
            "stage": "prod",
            "httpMethod": "POST",
            "resourcePath": "/v1/{project_id}/edgesrv/job-report",
        },
        "body": body(jobs, message_id),
        "isBase64Encoded": False,
    }


class Context:
    """The Lambda context both designs' handlers read (Logger, Metrics, the resolver)."""

    function_name, memory_limit_in_mb, aws_request_id = "bench", 1024, "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def start_invocation() -> None:
    """What Lambda's runtime does before each invocation of a function with `Tracing: Active`.

    It sets `_X_AMZN_TRACE_ID` to the invocation's trace header. The canonical design's Tracer
    (X-Ray SDK) reads it for every traced call, and Powertools Logger copies the trace id into
    log lines. The header says "not sampled": X-Ray's default rule samples one request a second
    plus 5%, so that is what nearly every report of a fleet gets, and the cheapest case for the
    SDK (a sampled request also serializes and sends its segments).
    """
    ids = uuid.uuid4().hex
    os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-{int(time.time()):08x}-{ids[:24]};Parent={ids[16:]};Sampled=0"
