"""`sam local start-lambda`: every function of template.yaml that no route calls (a stream consumer, a
schedule), invoked in SAM's Lambda containers with each of its events in events/<package>/
(tests/infra/samlocal.py says how; test_sam_local_api.py runs the functions behind the routes)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.infra.samlocal import LOCAL_TIMEOUT_S, MARKS, Stage, events_of, retried, serve
from tests.support import TEMPLATE

pytestmark = [*MARKS, pytest.mark.slow(100)]

UNROUTED = [name for name, function in TEMPLATE.functions().items() if not function.routes]


@pytest.fixture(scope="module")
def lambdas(sam: str, stage: Stage) -> Iterator[Any]:
    with serve(sam, stage, "start-lambda") as port:
        yield boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            config=Config(read_timeout=LOCAL_TIMEOUT_S + 60, retries={"max_attempts": 0}),
        )


def invoke(lambdas: Any, name: str, payload: bytes) -> tuple[bool, Any]:
    """One invocation: (whether it ended in an unhandled error, what the function answered)."""
    answer = lambdas.invoke(FunctionName=name, Payload=payload)
    return "FunctionError" in answer, json.loads(answer["Payload"].read())


@pytest.mark.parametrize("name", UNROUTED)
def test_a_function_behind_no_route_handles_each_of_its_events(lambdas: Any, name: str):
    # Given the function's events, and whether its trigger takes partial batch responses
    function = TEMPLATE.function(name)
    events = events_of(function)
    assert events, f"{name}: no event in events/{function.package}/; add one (every function is invoked)"
    partial = any(stream.report_item_failures for stream in function.streams)

    def failed(answer: tuple[bool, Any]) -> bool:
        error, result = answer
        return error or (partial and result != {"batchItemFailures": []})

    for path in events:
        # When the event is invoked in the function's container
        answer = retried(functools.partial(invoke, lambdas, name, path.read_bytes()), failed)
        # Then the function handles all of it: no unhandled error and, where the template asks for
        # partial batch responses, no record failed
        assert not failed(answer), (path.name, answer[1])
