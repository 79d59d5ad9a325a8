"""The command line against a loopback stand-in for the API: a read at a wrong URL fails in seconds with
a hint, a gateway's 404 says the URL has no route, retries are told on stderr, `jobs history` takes a
page size and human dates, `jobs summary` prints the project at a glance as a table or as the answer's
JSON, and each value comes from its flag, its variable or device.json."""

from __future__ import annotations

import argparse
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from devkit.handlers import Clock
from edgeclient import Spool
from edgeclient.__main__ import READ_BUDGET_S, REPORT_BUDGET_S, main, parse_time
from tests.support import summary_example
from tests.support.http import Api


@pytest.fixture(autouse=True)
def no_edge_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EDGE_API_URL", "EDGE_PROJECT_ID", "EDGE_DEVICE"):
        monkeypatch.delenv(name, raising=False)


def dead_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def report_file(tmp_path: Path) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"jobs": [], "message_id": "m1"}))
    return str(path)


# --- failing fast, and saying why ----------------------------------------------------------------


@pytest.mark.parametrize("named_by", ["--endpoint", "EDGE_API_URL"])
def test_a_read_at_a_dead_port_fails_within_its_budget_with_a_hint(named_by: str, monkeypatch, capsys):
    url, time = dead_url(), Clock(0.0)
    argv = ["jobs", "show", "1", "--project", "p1", "--unsigned"]
    if named_by == "--endpoint":
        argv += ["--endpoint", url]
    else:
        monkeypatch.setenv("EDGE_API_URL", url)
    assert main(argv, sleep=time.advance, clock=time) == 3
    *retries, last = capsys.readouterr().err.splitlines()
    assert time.now <= READ_BUDGET_S  # seconds of the injected clock
    assert last.startswith(f"no answer: no answer from {url} after {len(retries) + 1} attempts in 10 s (last: ")
    assert last.endswith(f"): is {named_by} the API's base URL (the stack output ApiUrl)?")
    assert retries
    assert all(line.startswith("retrying GET /v1/p1/edgesrv/jobs/1 in ") for line in retries)


def test_a_report_keeps_its_long_budget_and_tells_each_retry(tmp_path: Path, capsys):
    url, time = dead_url(), Clock(0.0)
    argv = ["send", "--endpoint", url, "--project", "p1", "--unsigned", "--file", report_file(tmp_path)]
    assert main(argv, sleep=time.advance, clock=time) == 3
    *retries, last = capsys.readouterr().err.splitlines()
    assert REPORT_BUDGET_S - 20 < time.now <= REPORT_BUDGET_S  # within one capped backoff of the budget
    assert last.startswith(f"not delivered: no answer from {url} after {len(retries) + 1} attempts in 120 s")
    assert "is --endpoint the API's base URL" not in last  # an edge node may just be offline
    assert retries[0].startswith("retrying POST /v1/p1/edgesrv/job-report in ")
    assert "(attempt 1; 120 s of 120 s left)" in retries[0]


def test_a_retried_5xx_is_told_with_its_error_code(api: Api, tmp_path: Path, capsys):
    busy = {"is_success": False, "message": "busy", "error_code": "DLI.0003", "error_msg": "busy"}
    api.replies = [(503, busy), (503, busy)]
    argv = ["send", "--endpoint", api.url, "--project", "p1", "--unsigned", "--file", report_file(tmp_path)]
    time = Clock(0.0)
    assert main(argv, sleep=time.advance, clock=time) == 0
    first, second = capsys.readouterr().err.splitlines()
    assert ": HTTP 503 DLI.0003 (attempt 1; 120 s of 120 s left)" in first
    assert ": HTTP 503 DLI.0003 (attempt 2; " in second
    assert len(api.seen) == 3


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (
            {"message": "Not Found"},
            "refused: HTTP 404: no route here (GET {url}/v1/p1/edgesrv/jobs/1): "
            "is --endpoint the API's base URL (the stack output ApiUrl)?",
        ),
        (
            {"is_success": False, "message": "m", "error_code": "DLI.0002", "error_msg": "job_id: no job 1"},
            "refused: HTTP 404 DLI.0002: job_id: no job 1",
        ),
    ],
    ids=["the gateway's: no route", "the service's: no such job"],
)
def test_a_gateway_404_says_the_url_has_no_route_and_the_services_404_keeps_its_message(api: Api, capsys, reply, says):
    api.replies = [(404, reply)]
    assert main(["jobs", "show", "1", "--endpoint", api.url, "--project", "p1", "--unsigned"]) == 2
    assert capsys.readouterr().err.strip() == says.format(url=api.url)
    assert len(api.seen) == 1


def test_a_report_sent_where_there_is_no_route_stays_in_the_spool_not_in_rejected(api: Api, tmp_path: Path, capsys):
    api.replies = [(404, {"message": "Not Found"})]
    spool = tmp_path / "spool"
    argv = ["send", "--endpoint", api.url, "--project", "p1", "--unsigned", "--file", report_file(tmp_path)]
    assert main([*argv, "--spool", str(spool)]) == 2
    refused, kept = capsys.readouterr().err.splitlines()
    assert refused.startswith("refused: HTTP 404: no route here (POST ")
    assert kept.startswith(f"kept in the spool {spool} (message_id m1)")
    assert len(list(Spool(spool).pending())) == 1
    assert list((spool / "rejected").iterdir()) == []


# --- jobs history: a page size and human dates ---------------------------------------------------


def test_jobs_history_sends_its_page_size_and_dates(api: Api):
    argv = ["jobs", "history", "7", "--endpoint", api.url, "--project", "p1", "--unsigned", "--limit", "5"]
    assert main([*argv, "--since", "2026-12-05", "--until", "2026-12-05T13:00:00Z"]) == 0
    (seen,) = api.seen
    assert urlsplit(seen.path).path == "/v1/p1/edgesrv/jobs/7/history"
    assert parse_qs(urlsplit(seen.path).query) == {
        "limit": ["5"],
        "since": [str(int(datetime(2026, 12, 5, tzinfo=UTC).timestamp() * 1000))],
        "until": [str(int(datetime(2026, 12, 5, 13, tzinfo=UTC).timestamp() * 1000))],
    }


NOW = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
AT_13 = int(NOW.timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "epoch_ms"),
    [
        ("1796475600000", 1796475600000),
        ("0", 0),
        ("2026-12-05T13:00:00Z", AT_13),
        ("2026-12-05T13:00:00", AT_13),  # naive: UTC
        ("2026-12-05T14:00:00+01:00", AT_13),
        ("2026-12-05T13:00:00.250Z", AT_13 + 250),
        ("2026-12-05", AT_13 - 13 * 3600 * 1000),
        ("45s", AT_13 - 45 * 1000),
        ("30m", AT_13 - 30 * 60 * 1000),
        ("2h", AT_13 - 2 * 3600 * 1000),
        ("7d", int((NOW - timedelta(days=7)).timestamp() * 1000)),
    ],
)
def test_a_time_is_epoch_ms_an_iso_date_or_date_time_or_a_time_ago(text: str, epoch_ms: int):
    assert parse_time(text, NOW) == epoch_ms


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "30 m", "2w", "1.5h", ""])
def test_anything_else_is_not_a_time(text: str):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a time: epoch ms"):
        parse_time(text, NOW)


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_bad_time_is_a_usage_error_naming_the_option(option: str, capsys):
    argv = ["jobs", "history", "1", "--endpoint", "http://127.0.0.1:9", "--project", "p1", "--unsigned"]
    with pytest.raises(SystemExit) as usage:
        main([*argv, option, "yesterday"])
    assert usage.value.code == 2
    assert f"error: argument {option}: 'yesterday' is not a time: epoch ms (digits)" in capsys.readouterr().err


# --- where each value comes from -----------------------------------------------------------------


def test_a_flag_beats_its_variable_which_beats_device_json(api: Api, tmp_path: Path, monkeypatch):
    # Given a device whose device.json names another API and project
    device = {
        "project_id": "from-device",
        "thing_name": "dev-1",
        "api_url": dead_url(),
        "region": "us-east-1",
        "credential_provider_endpoint": "127.0.0.1:9",
        "role_alias": "edge-agents",
        "certificate": "certificate.pem",
        "private_key": "private.key",
    }
    (tmp_path / "device.json").write_text(json.dumps(device))
    monkeypatch.setenv("EDGE_DEVICE", str(tmp_path))
    monkeypatch.setenv("EDGE_API_URL", api.url)
    monkeypatch.setenv("EDGE_PROJECT_ID", "from-variable")
    # When reads run unsigned (the device's credentials unused), with and without --project
    assert main(["jobs", "show", "1", "--unsigned"]) == 0
    assert main(["jobs", "show", "1", "--unsigned", "--project", "from-flag"]) == 0
    # Then the variables beat device.json, and the flag beats the variable
    assert [seen.path for seen in api.seen] == ["/v1/from-variable/edgesrv/jobs/1", "/v1/from-flag/edgesrv/jobs/1"]


def test_without_an_endpoint_anywhere_it_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["jobs", "show", "1", "--project", "p1", "--unsigned"])
    assert usage.value.code == 2
    assert "error: --endpoint is required (or EDGE_API_URL, or --device)" in capsys.readouterr().err


# --- jobs summary: the project at a glance -------------------------------------------------------

SUMMARY = summary_example()["summary"]  # the contract's example
SUMMARY_ARGV = ["jobs", "summary", "--project", "p1", "--unsigned"]


def summary_reply() -> tuple[int, dict[str, object]]:
    return 200, {"is_success": True, "message": "The job summary is successfully queried.", "summary": SUMMARY}


def test_jobs_summary_prints_counts_statuses_and_failure_reasons_in_aligned_columns(api: Api, capsys):
    api.replies = [summary_reply()]
    assert main([*SUMMARY_ARGV, "--endpoint", api.url]) == 0
    assert capsys.readouterr().out == (
        "jobs:   9\n"
        "silent: 0\n"
        "\n"
        "CATEGORY   JOBS\n"
        "pending    0\n"
        "running    4\n"
        "stopping   0\n"
        "finished   1\n"
        "failed     3\n"
        "canceled   0\n"
        "suspended  0\n"
        "unknown    1\n"
        "\n"
        "STATUS                 JOBS\n"
        "job_finish             1\n"  # in the order the route answers: by name
        "job_future             1\n"
        "job_running            4\n"
        "job_running_exception  1\n"
        "job_submit_fail        2\n"
        "\n"
        "ERROR_TYPE            ERROR_ID     JOBS\n"
        "JOB_SUBMIT_EXCEPTION  Agent.51000  2\n"
        "-                     -            1\n"
    )
    (seen,) = api.seen
    assert seen.path == "/v1/p1/edgesrv/job-summary"  # no limit: the service's default


def test_jobs_summary_json_is_the_summary_object_as_answered(api: Api, capsys):
    api.replies = [summary_reply()]
    assert main([*SUMMARY_ARGV, "--endpoint", api.url, "--json", "--limit", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == SUMMARY
    (seen,) = api.seen
    assert (urlsplit(seen.path).path, parse_qs(urlsplit(seen.path).query)) == (
        "/v1/p1/edgesrv/job-summary",
        {"limit": ["2"]},
    )


def test_jobs_summary_is_retried_within_the_read_budget(api: Api, capsys):
    busy = {"is_success": False, "message": "busy", "error_code": "DLI.0003", "error_msg": "busy"}
    api.replies = [(503, busy), summary_reply()]
    time = Clock(0.0)
    assert main([*SUMMARY_ARGV, "--endpoint", api.url, "--json"], sleep=time.advance, clock=time) == 0
    (retried,) = capsys.readouterr().err.splitlines()
    assert retried.startswith("retrying GET /v1/p1/edgesrv/job-summary in ")
    assert retried.endswith(": HTTP 503 DLI.0003 (attempt 1; 10 s of 10 s left)")


def test_jobs_summary_leaves_the_range_of_limit_to_the_service_and_prints_its_refusal(api: Api, capsys):
    refusal = {"is_success": False, "message": "m", "error_code": "DLI.0001", "error_msg": "limit: 1..100, got 0"}
    api.replies = [(400, refusal)]
    assert main([*SUMMARY_ARGV, "--endpoint", api.url, "--limit", "0"]) == 2
    assert capsys.readouterr().err.strip() == "refused: HTTP 400 DLI.0001: limit: 1..100, got 0"
    assert len(api.seen) == 1  # a 400 is not retried


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--limit", "ten"], "error: argument --limit: invalid int value: 'ten'"),
        (["7"], "error: unrecognized arguments: 7"),
    ],
    ids=["a limit that is not a number", "a job_id"],
)
def test_jobs_summary_usage_errors_send_nothing(api: Api, capsys, extra: list[str], says: str):
    with pytest.raises(SystemExit) as usage:
        main([*SUMMARY_ARGV, "--endpoint", api.url, *extra])
    assert usage.value.code == 2
    assert says in capsys.readouterr().err
    assert api.seen == []
