"""What the functions publish to EventBridge (moto), shown on the console: one line per event.

The stack puts a rule matching every event on the default bus, with an SQS target of its own, and
prints what arrives there. It only watches: a rule that anyone else creates on moto's bus (with
an SQS target, say) receives the same events independently.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

RULE = QUEUE = "local-console"
EVERY_EVENT = json.dumps({"source": [{"prefix": ""}]})


class EventTap(threading.Thread):
    def __init__(self, events: Any, sqs: Any, *, stopped: threading.Event) -> None:
        super().__init__(name="event-tap", daemon=True)
        self._events, self._sqs, self._stopped = events, sqs, stopped
        self.url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=RULE, EventPattern=EVERY_EVENT, State="ENABLED")
        events.put_targets(Rule=RULE, Targets=[{"Id": QUEUE, "Arn": arn}])

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                for message in messages.get("Messages", []):
                    print(line(json.loads(message["Body"])), file=sys.stderr, flush=True)
                    self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as exc:  # noqa: BLE001 - the console tap must not stop the stack
                print(f"event tap: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._stopped.wait(1)


def line(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    shown = {k: v for k, v in detail.items() if k not in ("event_id", "exceptions")}
    text = json.dumps(shown, separators=(",", ":"))
    return f"EventBridge {event.get('source')}: {event.get('detail-type')} {text[:300]}"
