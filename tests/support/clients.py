"""AWS clients the tests hand the functions: recorded for the IAM evaluation, recording and failing on
cue, answering without AWS, and a silence index answered from memory."""

from __future__ import annotations

import bisect
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devkit.template import LOCAL_REGION
from jobstatus import layout, lifecycle
from tests.iam.calls import RECORDER
from tests.support import JOB_TABLE


def client_error(code: str, operation: str = "BatchWriteItem", message: str = "injected") -> ClientError:
    """An AWS error as botocore raises it, to inject."""
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def recorded(function: str, service: str) -> Any:
    """A client (inside the test's mock) for this function's handler, its calls recorded for the IAM
    evaluation at the end of the run (tests/iam, tests/conftest.py)."""
    return RECORDER.attach(boto3.client(service, region_name=LOCAL_REGION), function)


class FaultyClient:
    """A client that records calls and fails the ones it is told to, in order: an exception is raised, a
    callable answers in the call's place (given the real call and the request), None lets it through."""

    def __init__(self, client: Any, **faults: list[Any]) -> None:
        self._client = client
        self.faults = faults
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            planned = self.faults.get(name) or []
            fault = planned.pop(0) if planned else None
            if isinstance(fault, BaseException):
                raise fault
            if callable(fault):
                return fault(real, kwargs)
            return real(**kwargs)

        return call


class Offline:
    """A client of no service at all: it records each call and answers it as DynamoDB answers a write
    that returns nothing ({}), so a use case runs without AWS and a test sees whether it called."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append(name)
            return {}

        return call


class IndexedSilence:
    """A client whose silence-index queries are answered from a sorted in-memory index, the rest by moto.

    moto answers an index query by scanning the whole table: 64 of them over 100,000 items take over a
    minute. This index is seeded from moto's items (what the report path filed) and from `extra`
    entries (index entries of jobs that only need to exist in the index), and answers the sweep's
    key condition (`gsi1pk = :p AND gsi1sk <= :last`) as DynamoDB does, keys only.
    """

    def __init__(self, client: Any, extra: list[dict[str, Any]] | None = None) -> None:
        self._client = client
        self._index: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for page in client.get_paginator("scan").paginate(TableName=JOB_TABLE):
            for item in page["Items"]:
                if "gsi1pk" in item:
                    self._add({k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")})
        for entry in extra or []:
            self._add(entry)
        for entries in self._index.values():
            entries.sort(key=lambda e: (e[0], e[1]["pk"]["S"]))

    def _add(self, entry: dict[str, Any]) -> None:
        self._index.setdefault(entry["gsi1pk"]["S"], []).append((entry["gsi1sk"]["S"], entry))

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != "query":
            return real

        def query(**request: Any) -> Any:
            if request.get("IndexName") != layout.SILENCE_INDEX:
                return real(**request)
            assert request["KeyConditionExpression"] == "#ipk = :p AND #isk <= :last"
            values = request["ExpressionAttributeValues"]
            entries = self._index.get(values[":p"]["S"], [])
            end = bisect.bisect_right([sk for sk, _ in entries], values[":last"]["S"])
            return {"Items": [entry for _, entry in entries[:end]], "Count": end}

        return query


def silence_entry(project_id: str, job_id: int, reported_at_ms: int, silent_after_minutes: int) -> dict[str, Any]:
    """The silence index entry the report path files for a job reported at `reported_at_ms`."""
    return {
        "pk": {"S": layout.job_pk(project_id, job_id)},
        "sk": {"S": layout.CURRENT_SK},
        "gsi1pk": {"S": layout.silence_index_pk(project_id, job_id)},
        "gsi1sk": {"S": layout.silence_index_sk(lifecycle.bucket_start(reported_at_ms, silent_after_minutes))},
    }
