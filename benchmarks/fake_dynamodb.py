"""A canned DynamoDB on loopback for the benchmark: fixed answers, an injected delay, and write-unit accounting.

It runs in its own process, so its CPU never counts against the function measured. Each answer
is what DynamoDB returns for a new report or for a replay of it, in both designs:
- ours: ledger UpdateItem (ALL_OLD: none, or the first attempt's item), BatchWriteItem, current
  UpdateItem (conditional; a replay fails the condition);
- canonical (Powertools @idempotent): lock PutItem (a replay fails with the stored COMPLETED
  record), BatchWriteItem, current UpdateItem, then the idempotency record's UpdateItem.
Control: POST /__control {"mode": "new"|"replay", "delay": seconds, "replay_item": {...}};
GET /__log returns (and clears) the calls with their write units.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devkit.capacity import write_units  # DynamoDB's size and billing rules, as the functions count them

STATE: dict[str, Any] = {"mode": "new", "delay": 0.0, "replay_item": {}, "log": []}
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


def answer(operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any], int]:
    """(HTTP status, body, write units consumed)."""
    replay = STATE["mode"] == "replay"
    table = request.get("TableName", "")
    if operation == "BatchWriteItem":
        wru = sum(write_units(r["PutRequest"]["Item"]) for rs in request["RequestItems"].values() for r in rs)
        return 200, {"UnprocessedItems": {}}, wru
    if operation == "PutItem":  # the canonical design's idempotency lock
        wru = write_units(request["Item"])
        if replay and "attribute_not_exists" in request.get("ConditionExpression", ""):
            return 400, {"__type": CONDITION_FAILED, "message": "exists", "Item": STATE["replay_item"]}, wru
        return 200, {}, wru
    if operation == "UpdateItem":
        wru = write_units(updated_item(request))
        ledger = "payload_hash = :h" in request.get("ConditionExpression", "")
        if replay and ledger:
            return 200, {"Attributes": {"pk": request["Key"]["pk"], "received_at": {"N": "1796000000000"}}}, wru
        if replay and "create_time" in request.get("ConditionExpression", ""):
            return 400, {"__type": CONDITION_FAILED, "message": "The conditional request failed"}, wru
        return 200, {}, wru
    if operation == "GetItem":
        return 200, {}, 0
    return 400, {"__type": "com.amazon.coral.validate#ValidationException", "message": f"{operation} {table}"}, 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stall per call

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if self.path == "/__control":
            STATE.update(request)
            return self._send(200, {})
        operation = (self.headers.get("x-amz-target") or "").split(".")[-1]
        status, body, wru = answer(operation, request)
        with LOCK:
            STATE["log"].append({"operation": operation, "request": request, "wru": wru, "status": status})
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
