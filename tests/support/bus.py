"""What reaches the default event bus, observed as an operator would: a rule for every edgesrv.jobs
event with an SQS target of its own (on moto in process, or on the local stack's moto server)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any


class Watch:
    def __init__(self, events: Any, sqs: Any) -> None:
        self._sqs = sqs
        name = f"watch-{uuid.uuid4().hex[:8]}"
        self.url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["edgesrv.jobs"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        """What the queue holds now (taken off it)."""
        found: list[dict[str, Any]] = []
        while batch := self._receive(wait_s=0):
            found += batch
        return found

    def take(
        self, wait_s: float, until: Callable[[list[dict[str, Any]]], object] | None = None
    ) -> list[dict[str, Any]]:
        """What arrives within wait_s seconds, or until `until(what arrived)` holds."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not (until and until(found)):
            found += self._receive(wait_s=1)
        return found

    def _receive(self, wait_s: int) -> list[dict[str, Any]]:
        messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
        for message in messages.get("Messages", []):
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def kinds(found: list[dict[str, Any]], project: str) -> list[str]:
    """The detail-types of a project's events, in the order they arrived."""
    return [e["detail-type"] for e in found if e["detail"]["project_id"] == project]
