"""Schedules: each Schedule or ScheduleV2 event of the template invokes its function at its rate.

The first run comes one period after the stack starts, as a new schedule's does. The event is the
schedule's Input, or, without one, what EventBridge Scheduler's default input gives a Lambda
target: the schedule's name and time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION, ScheduleTrigger
from localapi.runtime import FunctionError, FunctionRuntime, FunctionTimeout


class Schedule(threading.Thread):
    """Waits on `stopped` (the stack's) until each run is due by `clock` (seconds; the tests move their own)."""

    def __init__(
        self,
        trigger: ScheduleTrigger,
        runtime: FunctionRuntime,
        *,
        stopped: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=f"schedule-{trigger.function}", daemon=True)
        self.trigger = trigger
        self._runtime = runtime
        self._stopped = stopped
        self._clock = clock
        self.runs = 0

    def run(self) -> None:
        period = self.trigger.every_s
        next_run = self._clock() + period
        while not self._stopped.wait(max(0.0, next_run - self._clock())):
            next_run += period
            now = datetime.now(UTC)
            event: dict[str, object] = (
                json.loads(self.trigger.input)
                if self.trigger.input
                else {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.scheduler",
                    "account": LOCAL_ACCOUNT,
                    "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": LOCAL_REGION,
                    "resources": [
                        f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT}:schedule/default/{self.trigger.name}"
                    ],
                    "detail": {},
                }
            )
            try:
                self._runtime.invoke(event, request_id=str(event.get("id") or uuid.uuid4()))
            except (FunctionError, FunctionTimeout) as exc:
                print(f"schedule {self.trigger.name}: {self.trigger.function} failed: {exc}", file=sys.stderr)
            self.runs += 1
