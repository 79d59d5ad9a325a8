"""Warm measurements in one process: CPU and wall time per report, for a variant.

usage: warm.py VARIANT PATH[:PATH...] JOBS COUNT [REQUESTS_FILE]
  VARIANT ours | canonical: the handler, one report after another (after a warm-up);
  VARIANT floor: model_validate_json on the same body, then the DynamoDB requests recorded
  from ours (REQUESTS_FILE), sent one by one through a bare botocore client.
Prints one JSON line with medians. stdout of the handler (its log lines) goes to /dev/null.
"""

import contextlib
import json
import os
import statistics
import sys
import time

variant, paths, jobs, count = sys.argv[1], sys.argv[2].split(":"), int(sys.argv[3]), int(sys.argv[4])
sys.path[:0] = paths
import events

out = sys.stdout
sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's log lines are written, not shown


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 1024, "warm"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


if variant == "floor":
    import re

    import botocore.session

    from service.models import JobReport

    client = botocore.session.get_session().create_client("dynamodb")
    recorded = json.load(open(sys.argv[5]))  # noqa: SIM115
    calls = [(getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", r["operation"]).lower()), r["request"]) for r in recorded]

    inputs = [events.body(jobs) for i in range(count + 5)]

    def one(body: str) -> None:
        JobReport.model_validate_json(body)
        for call, request in calls:
            with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                call(**request)
else:
    import app

    make = events.rest_event if variant == "canonical" else events.http_event
    inputs = [make(jobs, f"warm-{jobs}-{i}-{time.time_ns()}") for i in range(count + 5)]

    def one(event: dict) -> None:
        response = app.lambda_handler(event, Context())
        assert response["statusCode"] == 200, response


cpu, wall = [], []
for i, item in enumerate(inputs):
    event_cpu, event_wall = time.process_time(), time.perf_counter()
    one(item)
    if i >= 5:  # warm-up first
        cpu.append((time.process_time() - event_cpu) * 1000)
        wall.append((time.perf_counter() - event_wall) * 1000)
print(json.dumps({"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}), file=out)
