"""The local schedules (localapi/schedules.py) invoke each function the template schedules at its rate, as
EventBridge Scheduler does: the first run one period after the stack starts, then one each period however
long a run takes, with the event the scheduler's default input gives a Lambda target; a failed run does not
stop the next. What the sweep does when it runs: tests/integration/test_events.py."""

from __future__ import annotations

import threading
from typing import Any, cast

from localapi.runtime import FunctionError
from localapi.schedules import Schedule
from tests.support import SWEEP_FUNCTION, TEMPLATE


class Ticks:
    """The stack's `stopped` event and the schedule's clock in one: each wait moves the clock by its timeout,
    so that the next run falls due; after `runs` runs the stack stops."""

    def __init__(self, runs: int) -> None:
        self.now = 0.0
        self._left = runs

    def clock(self) -> float:
        return self.now

    def wait(self, timeout: float) -> bool:
        if self._left == 0:
            return True
        self._left -= 1
        self.now += timeout
        return False


class Runtime:
    """A function runtime that records when (by the clock) each invocation came, and takes `takes_s` each."""

    def __init__(self, ticks: Ticks, takes_s: float = 0.0, failing: int = 0) -> None:
        self.function = TEMPLATE.function(SWEEP_FUNCTION)
        self.invoked: list[tuple[float, dict[str, Any], str]] = []
        self._ticks, self._takes_s, self._failing = ticks, takes_s, failing

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        self.invoked.append((self._ticks.now, event, request_id))
        self._ticks.now += self._takes_s
        if len(self.invoked) <= self._failing:
            raise FunctionError("the sweep failed")
        return {"marked": 0}


def run(runs: int, **runtime: Any) -> tuple[Schedule, Runtime]:
    (trigger,) = TEMPLATE.function(SWEEP_FUNCTION).schedules
    ticks = Ticks(runs)
    invoked = Runtime(ticks, **runtime)
    schedule = Schedule(trigger, invoked, stopped=cast(threading.Event, ticks), clock=ticks.clock)  # type: ignore[arg-type]
    schedule.run()  # in this thread, until the stack stops
    return schedule, invoked


def test_the_template_schedules_the_sweep_every_minute():
    (trigger,) = TEMPLATE.function(SWEEP_FUNCTION).schedules
    assert trigger.every_s == 60


def test_the_function_runs_one_period_after_the_start_then_every_period_however_long_a_run_takes():
    schedule, runtime = run(3, takes_s=20)
    assert [at for at, _, _ in runtime.invoked] == [60, 120, 180]
    assert schedule.runs == 3


def test_each_run_gets_the_event_of_eventbridge_schedulers_default_input():
    schedule, runtime = run(2)
    (_, first, request_id), (_, second, _) = runtime.invoked
    assert {k: first[k] for k in ("version", "detail-type", "source", "account", "region", "detail")} == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {},
    }
    assert first["resources"] == [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{schedule.trigger.name}"]
    assert request_id == first["id"] != second["id"]
    assert first["time"].endswith("Z")


def test_a_failed_run_is_followed_by_the_next_one():
    schedule, runtime = run(3, failing=1)
    assert [at for at, _, _ in runtime.invoked] == [60, 120, 180]
    assert schedule.runs == 3
