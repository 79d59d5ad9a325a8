"""Runs in a fresh `python3.13 -S` process, as Lambda starts one: time to import the handler
(cold init), optionally plus the first report (cold first request), and peak memory.

usage: probe.py VARIANT PATH[:PATH...] MODULE [first]    (VARIANT: floor, ours, canonical)
MODULE is the handler's module (template.yaml's Handler, e.g. report.handler; app for the canonical design).
Prints one JSON line. Kept to the standard library: it must import nothing the variant does not.
"""

import json
import resource
import sys
import time

started = time.perf_counter()
sys.dont_write_bytecode = True  # Lambda cannot write bytecode into /var/task or /opt
variant, paths, module = sys.argv[1], sys.argv[2].split(":"), sys.argv[3]
sys.path[:0] = paths

if variant == "floor":
    import boto3
    import pydantic  # noqa: F401

    boto3.client("dynamodb")
    handler = None
else:
    import importlib

    handler = importlib.import_module(module).lambda_handler
init_ms = (time.perf_counter() - started) * 1000
result = {"init_ms": init_ms, "init_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

if len(sys.argv) > 4 and handler is not None:
    import invocation  # benchmarks/invocation.py, on the path the harness gives

    event = invocation.rest_event(1, "cold-first") if variant == "canonical" else invocation.http_event(1, "cold-first")
    invocation.start_invocation()
    response = handler(event, invocation.Context())
    assert response["statusCode"] == 200, response
    result["first_ms"] = (time.perf_counter() - started) * 1000
    result["first_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
