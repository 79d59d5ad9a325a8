"""Warm measurements in one process: CPU and wall time per report, for a variant.

usage: warm.py VARIANT PATH[:PATH...] MODULE JOBS COUNT [REQUESTS_FILE]
  MODULE the handler's module (template.yaml's Handler, e.g. report.handler; app for the canonical design);
  VARIANT ours | canonical: the handler, one report after another (after a warm-up);
  VARIANT floor: model_validate_json on the same body, then the DynamoDB requests recorded
  from ours (REQUESTS_FILE), sent one by one through a bare botocore client;
  VARIANT pair: ours and the floor in one process, one report each in turn, so that the
  machine's drift (large on these shared 2-core machines) hits both alike.
Prints one JSON line: the medians, and every report's CPU time (the harness pools rounds).
stdout of the handler (its log lines) goes to /dev/null.
"""

import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

variant, paths, module = sys.argv[1], sys.argv[2].split(":"), sys.argv[3]
jobs, count = int(sys.argv[4]), int(sys.argv[5])
sys.path[:0] = paths
import invocation

out = sys.stdout
sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's log lines are written, not shown


if variant in ("floor", "pair"):
    import re

    import botocore.session

    from report.models import JobReport

    client = botocore.session.get_session().create_client("dynamodb")
    recorded = json.load(open(sys.argv[6]))  # noqa: SIM115
    calls = [(getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", r["operation"]).lower()), r["request"]) for r in recorded]

    def floor(body: str) -> None:
        JobReport.model_validate_json(body)
        for call, request in calls:
            with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                call(**request)


if variant != "floor":
    import importlib

    app = importlib.import_module(module)

    make = invocation.rest_event if variant == "canonical" else invocation.http_event

    def handler(event: dict) -> None:
        invocation.start_invocation()
        response = app.lambda_handler(event, invocation.Context())
        assert response["statusCode"] == 200, response


def measure(run: Callable[[Any], None], item: object, into: list[float], keep: bool) -> None:
    started = time.process_time()
    run(item)
    if keep:
        into.append((time.process_time() - started) * 1000)


ours_cpu: list[float] = []
floor_cpu: list[float] = []
wall: list[float] = []
for i in range(count + 5):
    keep = i >= 5  # warm-up first
    event_wall = time.perf_counter()
    if variant == "floor":
        measure(floor, invocation.body(jobs), floor_cpu, keep)
    elif variant == "pair":
        # Alternate which goes first, so that neither always runs on the other's warm caches.
        order = [
            (handler, make(jobs, f"warm-{jobs}-{i}-{time.time_ns()}"), ours_cpu),
            (floor, invocation.body(jobs), floor_cpu),
        ]
        for run, item, into in order if i % 2 == 0 else reversed(order):
            measure(run, item, into, keep)
    else:
        measure(handler, make(jobs, f"warm-{jobs}-{i}-{time.time_ns()}"), ours_cpu, keep)
    if keep:
        wall.append((time.perf_counter() - event_wall) * 1000)

samples = floor_cpu if variant == "floor" else ours_cpu
result = {"cpu_ms": statistics.median(samples), "wall_ms": statistics.median(wall), "cpu_samples": samples}
if variant == "pair":
    result["floor_samples"] = floor_cpu
print(json.dumps(result), file=out, flush=True)
