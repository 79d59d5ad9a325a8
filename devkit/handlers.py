"""Each function's handler in this process, as deployed: its `build_handler` with template.yaml's
environment (and any overrides), around the clients given, invoked with a Lambda context. The tests
and the benchmark invoke the functions through these, and move time with a Clock by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fleet.settings import FleetSettings
from fleet.wiring import build_handler as build_fleet

from devkit.context import LambdaContext
from devkit.template import LocalTemplate
from notify.settings import NotifySettings
from notify.wiring import build_handler as build_events
from query.settings import QuerySettings
from query.wiring import build_handler as build_query
from report.settings import ReportSettings
from report.wiring import build_handler as build_report
from sweep.settings import SweepSettings
from sweep.wiring import build_handler as build_sweep

REPORT_FUNCTION, QUERY_FUNCTION = "JobReportFunction", "JobQueryFunction"
EVENTS_FUNCTION, SWEEP_FUNCTION = "JobEventsFunction", "SilenceSweepFunction"
FLEET_FUNCTION = "FleetFunction"

Invoke = Callable[[dict[str, Any]], Any]  # event -> what the handler returns


class Clock:
    """Epoch seconds that move only when the caller moves them."""

    def __init__(self, now: float = 1_796_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def environment(template: LocalTemplate, function: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The function's environment as template.yaml declares it, with these variables overridden."""
    return template.function(function).environment | (overrides or {})


def invoker(template: LocalTemplate, function: str, handler: Callable[[dict[str, Any], Any], Any]) -> Invoke:
    """The handler invoked as Lambda invokes it: with a context of the function's name and memory."""
    memory = template.function(function).memory_mb

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, LambdaContext(function, memory, uuid.uuid4().hex, deadline_ms=1e15))

    return invoke


def report(template: LocalTemplate, overrides: dict[str, str] | None = None, **build: Any) -> Invoke:
    """JobReportFunction; `build`: build_handler's clients, store, clock and sleep."""
    settings = ReportSettings.from_env(environment(template, REPORT_FUNCTION, overrides))
    return invoker(template, REPORT_FUNCTION, build_report(settings, **build))


def query(template: LocalTemplate, overrides: dict[str, str] | None = None, **build: Any) -> Invoke:
    """JobQueryFunction; `build`: build_handler's clients, clock and sleep."""
    settings = QuerySettings.from_env(environment(template, QUERY_FUNCTION, overrides))
    return invoker(template, QUERY_FUNCTION, build_query(settings, **build))


def events(template: LocalTemplate, overrides: dict[str, str] | None = None, **build: Any) -> Invoke:
    """JobEventsFunction, the stream consumer; `build`: its EventBridge and DynamoDB clients and sleep."""
    settings = NotifySettings.from_env(environment(template, EVENTS_FUNCTION, overrides))
    return invoker(template, EVENTS_FUNCTION, build_events(settings, **build))


def sweep(template: LocalTemplate, overrides: dict[str, str] | None = None, **build: Any) -> Invoke:
    """SilenceSweepFunction; `build`: its DynamoDB client and clock."""
    settings = SweepSettings.from_env(environment(template, SWEEP_FUNCTION, overrides))
    return invoker(template, SWEEP_FUNCTION, build_sweep(settings, **build))


def fleet(template: LocalTemplate, overrides: dict[str, str] | None = None, **build: Any) -> Invoke:
    """FleetFunction, the fleet's metrics and recount; `build`: its DynamoDB client and sleep."""
    settings = FleetSettings.from_env(environment(template, FLEET_FUNCTION, overrides))
    return invoker(template, FLEET_FUNCTION, build_fleet(settings, **build))
