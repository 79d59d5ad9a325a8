"""What the tests share (conftest.py files hold only fixtures, and no test module imports another).

Here: the template and the names in it, the events/ folder and the seed example, report bodies,
reading the tables, and the run's reliability evidence (RUN, printed by tests/conftest.py). Beside it:
gateway.py (requests as API Gateway hands them to a function), the two bad-input batteries
(report_battery.py, query_battery.py), clients.py (fault-injecting and recording AWS clients),
bus.py (a rule on the default bus with an SQS target), local.py (the local stack spoken to over
HTTP) and http.py (the HTTP servers the tests stand up).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devkit.handlers import EVENTS_FUNCTION, FLEET_FUNCTION, QUERY_FUNCTION, REPORT_FUNCTION, SWEEP_FUNCTION
from devkit.template import ROOT, LocalTemplate
from jobstatus import layout

__all__ = ["EVENTS_FUNCTION", "FLEET_FUNCTION", "QUERY_FUNCTION", "REPORT_FUNCTION", "SWEEP_FUNCTION"]

EVENTS = ROOT / "events"
PROJECT = "48cc2c48765f481480c7db940d6409d1"
SUCCESS = {"is_success": True, "message": "The IEF Flink job status information is successfully reported."}
TEMPLATE = LocalTemplate.read()
JOB_TABLE, LEDGER_TABLE = "JobStatusTable", "IdempotencyTable"


def load_event(name: str) -> dict[str, Any]:
    """An event file, by its path under events/ (e.g. "report/seed.json")."""
    return dict(json.loads(Path(EVENTS / name).read_text()))


def summary_example() -> dict[str, Any]:
    """The contract's example of a project at a glance: GET .../job-summary's answer, in docs/examples/."""
    return dict(json.loads((ROOT / "docs" / "examples" / "summary.json").read_text()))


def seed_body() -> dict[str, Any]:
    return copy.deepcopy(json.loads(load_event("report/seed.json")["body"]))


def report(*jobs: dict[str, Any], message_id: Any = None, **fields: Any) -> dict[str, Any]:
    return {"jobs": list(jobs), "message_id": str(uuid.uuid4()) if message_id is None else message_id, **fields}


def job(job_id: Any = 1, status: Any = "job_running", create_time: Any = 1_700_000_000_000, **f: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status, "create_time": create_time, **f}
    if job_id is not None:
        data["job_id"] = job_id
    return data


def scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i.get("sk", {}).get("S", "")))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def everything(client: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: scan(client, table) for table in (JOB_TABLE, LEDGER_TABLE)}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    d = TypeDeserializer()
    return {k: d.deserialize(v) for k, v in item.items()}


# What the run proved, printed at the end of `make test` (tests/conftest.py) for docs/reliability.md.
RUN: dict[str, Any] = {
    "bad inputs": set(),
    "fuzzed bodies": 0,
    "faults": set(),
    "concurrent": 0,
    "items checked": 0,
    "lost": 0,
}


def current(client: Any, job_id: int, project: str = PROJECT) -> dict[str, Any]:
    """A job's current item, as plain values ({} for none)."""
    item = client.get_item(TableName=JOB_TABLE, Key=layout.current_key(layout.job_pk(project, job_id)))
    return deserialize(item["Item"]) if "Item" in item else {}


def deliver(stream: Any, consume: Any) -> dict[str, Any]:
    """The stream's new records, as one batch, to the events function; its batch response."""
    batch = stream.batch()
    return dict(consume(batch)) if batch["Records"] else {"batchItemFailures": []}


def account(expected: list[Any], found: list[Any]) -> None:
    """Count the items a test expected and how many of them are missing (lost)."""
    RUN["items checked"] += len(expected)
    RUN["lost"] += sum(1 for item in expected if item not in found)


def add_to_counter(client: Any, project_id: str, job_id: int, counter: str, by: int) -> None:
    """A project's summary counter (jobstatus.fleet), in the shard `job_id` is counted in, moved by hand:
    the drift a recount must find."""
    client.update_item(
        TableName=JOB_TABLE,
        Key=layout.summary_key(layout.summary_pk(project_id, layout.category_shard(job_id))),
        UpdateExpression="ADD #c :by",
        ExpressionAttributeNames={"#c": counter},
        ExpressionAttributeValues={":by": {"N": str(by)}},
    )
