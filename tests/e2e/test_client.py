"""The reference client against the local API, and through a proxy that fails on purpose."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from edgeclient import DeliveryFailed, ReportRejected, Retry, Spool, send_report
from edgeclient.__main__ import main
from tests.support import EVENTS, RUN, job, report
from tests.support.http import FaultyProxy
from tests.support.local import FAST, Local


def test_client_delivers_the_seed_example(local: Local, capsys: pytest.CaptureFixture[str]):
    project = uuid.uuid4().hex
    assert (
        main(
            [
                "--endpoint",
                local.url,
                "--project",
                project,
                "--file",
                str(EVENTS / "report" / "seed.json"),
                "--unsigned",
            ]
        )
        == 0
    )
    delivery = json.loads(capsys.readouterr().out)
    assert delivery == {"message_id": "uuid", "status": 200, "replayed": False, "attempts": 1}


def test_client_generates_a_message_id_and_a_resend_is_a_replay(local: Local):
    project = uuid.uuid4().hex
    body = report(job(job_id=3))
    del body["message_id"]
    first = send_report(local.url, project, body, retry=FAST, sign=False)
    again = send_report(local.url, project, {**body, "message_id": first.message_id}, retry=FAST, sign=False)
    assert uuid.UUID(first.message_id)
    assert (first.replayed, again.replayed) == (False, True)


def test_client_surfaces_a_rejection_without_retrying(local: Local):
    with pytest.raises(ReportRejected) as caught:
        send_report(local.url, uuid.uuid4().hex, {"jobs": [{"status": "job_running"}]}, retry=FAST, sign=False)
    assert (caught.value.status, caught.value.error_code) == (400, "DLI.0001")
    assert caught.value.error_msg == "jobs[0].create_time: field required"


@pytest.mark.parametrize(
    "faults",
    [["503"], ["reset"], ["slow"], ["429", "503", "reset", "slow"]],
    ids=["503", "connection reset", "slow answer", "all of them"],
)
def test_report_lands_exactly_once_whatever_fault_comes_first(local: Local, proxy: str, faults: list[str]):
    project = uuid.uuid4().hex
    FaultyProxy.script = list(faults)
    body = report(job(job_id=1), job(job_id=2))
    delivery = send_report(proxy, project, body, retry=FAST, sign=False)
    assert delivery.status == 200
    assert delivery.attempts == len(faults) + 1
    assert FaultyProxy.seen == [body["message_id"]] * (len(faults) + 1)  # the same message_id every time
    stored = local.items(project)
    assert len(stored["IdempotencyTable"]) == 1
    assert len([i for i in stored["JobStatusTable"] if i["sk"]["S"] != "CURRENT"]) == 2
    RUN["faults"].update(f"client: {fault}" for fault in faults)


def test_client_gives_up_after_its_budget_with_a_clear_error(proxy: str):
    FaultyProxy.script = ["503"] * 100
    with pytest.raises(DeliveryFailed, match="send again later with message_id"):
        send_report(
            proxy, "p1", report(job()), retry=Retry(base_s=0.05, cap_s=0.1, budget_s=0.5, timeout_s=1), sign=False
        )


def test_spool_survives_a_crash_between_send_and_delete(local: Local, proxy: str, tmp_path, monkeypatch):
    project = uuid.uuid4().hex
    spool = Spool(tmp_path)
    message_id = spool.put(project, report(job(job_id=5)))
    # Given the agent crashes after the service stored the report but before the file was removed
    real_unlink = type(tmp_path).unlink

    def crash(self: Any, *args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(type(tmp_path), "unlink", crash)
    with pytest.raises(KeyboardInterrupt):
        spool.flush(local.url, retry=FAST, sign=False)
    monkeypatch.setattr(type(tmp_path), "unlink", real_unlink)
    assert len(list(spool.pending())) == 1  # still spooled
    # When the agent restarts and flushes again
    (delivery,) = spool.flush(local.url, retry=FAST, sign=False)
    # Then the resend is a replay of the same message: stored once, and the spool is empty
    assert (delivery.message_id, delivery.replayed) == (message_id, True)
    assert list(spool.pending()) == []
    assert len(local.items(project)["IdempotencyTable"]) == 1


def test_spool_keeps_reports_while_offline_and_sets_rejected_ones_aside(local: Local, tmp_path):
    project = uuid.uuid4().hex
    spool = Spool(tmp_path)
    spool.put(project, report(job(job_id=6)))
    spool.put(project, {"jobs": [{"status": "job_running"}], "message_id": "bad"})
    with pytest.raises(DeliveryFailed):  # offline: nothing listens on this port
        spool.flush("http://127.0.0.1:9", retry=Retry(base_s=0.01, cap_s=0.01, budget_s=0.2, timeout_s=0.2))
    assert len(list(spool.pending())) == 2
    delivered = spool.flush(local.url, retry=FAST, sign=False)
    assert len(delivered) == 1
    assert list(spool.pending()) == []
    (rejected,) = (tmp_path / "rejected").glob("*.json")
    assert json.loads(rejected.read_text())["rejected"]["error_code"] == "DLI.0001"
