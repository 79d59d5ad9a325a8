"""A canned DynamoDB on loopback for the benchmark: fixed answers, an injected delay, and write-unit accounting.

It runs in its own process, so its CPU never counts against the function measured. Each answer
is what DynamoDB returns for a new report, a heartbeat (the same jobs again, newer) or a replay of
a new report, in both designs:
- ours: ledger UpdateItem (ALL_OLD: none, or the first attempt's item) beside a BatchGetItem of the
  jobs' current items (none; the same status, older, for a heartbeat; the report's own status,
  which opened its run, for a replay); then the current UpdateItems and the history BatchWriteItem
  that those call for (report/runs.py);
- canonical (Powertools @idempotent): lock PutItem (a replay fails with the stored COMPLETED
  record), BatchWriteItem, current UpdateItem, then the idempotency record's UpdateItem.
Control: POST /__control {"mode": "new"|"heartbeat"|"replay", "delay": seconds, "replay_item": {...},
"run": the jobs' content digest}; GET /__log returns (and clears) the calls with their units.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from invocation import FIRST_CREATE_TIME, FIRST_JOB_ID, STATUS  # the bench's jobs (this file's directory)

from devkit.capacity import write_units  # DynamoDB's size and billing rules, as the functions count them
from jobstatus import layout, lifecycle

STATE: dict[str, Any] = {"mode": "new", "delay": 0.0, "replay_item": {}, "run": "", "log": []}
LOCK = threading.Lock()
CONDITION_FAILED = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
_SET = re.compile(r"([#\w]+)\s*=\s*(?:if_not_exists\([^,]+,\s*)?(:\w+)")


def updated_item(request: dict[str, Any]) -> dict[str, Any]:
    """The item an UpdateItem leaves: its key plus every attribute it sets."""
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    item = dict(request["Key"])
    for name, placeholder in _SET.findall(request.get("UpdateExpression", "")):
        item[names.get(name, name)] = values[placeholder]
    return item


def current_item(key: dict[str, Any]) -> dict[str, Any] | None:
    """The current item of a bench job (benchmarks/invocation.py), as the mode has it."""
    if STATE["mode"] == "new":
        return None
    create_time = FIRST_CREATE_TIME + layout.parse_job_pk(key["pk"]["S"])[1] - FIRST_JOB_ID
    if STATE["mode"] == "heartbeat":
        create_time -= 60_000  # the same status a minute before
    return {
        "pk": key["pk"],
        "create_time": {"N": str(create_time)},
        "status_rank": {"S": lifecycle.status_rank(STATUS)},
        "run": {"S": STATE["run"]},
        "status_since": {"N": str(create_time)},
    }


def answer(operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any], float, float]:
    """(HTTP status, body, write units consumed, read units consumed)."""
    replay = STATE["mode"] == "replay"
    table = request.get("TableName", "")
    if operation == "BatchGetItem":
        found = {
            name: [item for item in map(current_item, asked["Keys"]) if item is not None]
            for name, asked in request["RequestItems"].items()
        }
        # strongly consistent: 1 read unit an item of up to 4 KB, and one for a key that is not there
        rru = sum(len(asked["Keys"]) for asked in request["RequestItems"].values())
        return 200, {"Responses": found, "UnprocessedKeys": {}}, 0, rru
    if operation == "BatchWriteItem":
        wru = sum(write_units(r["PutRequest"]["Item"]) for rs in request["RequestItems"].values() for r in rs)
        return 200, {"UnprocessedItems": {}}, wru, 0
    if operation == "PutItem":  # the canonical design's idempotency lock
        wru = write_units(request["Item"])
        if replay and "attribute_not_exists" in request.get("ConditionExpression", ""):
            return 400, {"__type": CONDITION_FAILED, "message": "exists", "Item": STATE["replay_item"]}, wru, 0
        return 200, {}, wru, 0
    if operation == "UpdateItem":
        wru = write_units(updated_item(request))
        ledger = "payload_hash = :h" in request.get("ConditionExpression", "")
        if replay and ledger:
            return 200, {"Attributes": {"pk": request["Key"]["pk"], "received_at": {"N": "1796000000000"}}}, wru, 0
        if replay and "create_time" in request.get("ConditionExpression", ""):  # the canonical design's
            return 400, {"__type": CONDITION_FAILED, "message": "The conditional request failed"}, wru, 0
        return 200, {}, wru, 0
    if operation == "GetItem":
        return 200, {}, 0, 1
    return 400, {"__type": "com.amazon.coral.validate#ValidationException", "message": f"{operation} {table}"}, 0, 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stall per call

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if self.path == "/__control":
            STATE.update(request)
            return self._send(200, {})
        operation = (self.headers.get("x-amz-target") or "").split(".")[-1]
        status, body, wru, rru = answer(operation, request)
        with LOCK:
            STATE["log"].append({"operation": operation, "request": request, "wru": wru, "rru": rru, "status": status})
        if STATE["delay"]:
            time.sleep(STATE["delay"])
        self._send(status, body)

    def do_GET(self) -> None:
        with LOCK:
            log, STATE["log"] = STATE["log"], []
        self._send(200, {"log": log})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
