"""`make run` with the confirmation publish on: the local IoT Core (moto) receives, and the console shows, each one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support import seed_body
from tests.support.local import Local


def shown(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("IoT publish to ")]


def test_make_run_publishes_and_shows_one_confirmation_per_report_and_replay(start: Callable[..., Local]):
    local = start("--parameter", "ConfirmTopicPublish=true")
    log = local.log
    project = uuid.uuid4().hex
    body = seed_body()
    first, replay = local.post(project, body), local.post(project, body)
    assert (first.status, replay.status) == (200, 200)
    # The line is printed after the answer is sent: wait for both, then check there are no more.
    expected = ['IoT publish to hw/events/messages/dli/message/confirm: {"message_id": "uuid", "is_success": true}'] * 2
    deadline = time.monotonic() + 10
    while len(shown(log)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown(log) == expected
    assert "confirmation publish failed" not in log.read_text()
