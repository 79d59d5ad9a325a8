"""The reference client's read methods and command line, against the local stack; and its refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devkit.template import ROOT
from edgeclient import Client, NoCredentials, RequestRejected, Retry, Spool
from edgeclient.__main__ import main
from tests.support import EVENTS, job, report
from tests.support.http import FaultyProxy
from tests.support.local import FAST, Local, wait_for


@pytest.fixture
def project(local: Local) -> str:
    name = uuid.uuid4().hex
    statuses = ["job_running", "job_finish", "job_running"]
    jobs = [job(job_id=j, status=s, create_time=10 + j) for j, s in enumerate(statuses, 1)]
    assert local.post(name, report(*jobs, message_id="reads-1")).status == 200
    later = report(job(job_id=1, status="job_savepointing", create_time=99), message_id="reads-2")
    assert local.post(name, later).status == 200
    return name


def client(local: Local) -> Client:
    return Client(local.url, retry=FAST, sign=False)


def test_the_client_reads_a_job_a_listing_a_history_and_a_report(local: Local, project: str):
    reads = client(local)
    assert reads.get_job(project, 1)["status"] == "job_savepointing"
    assert sorted(j["job_id"] for j in reads.list_jobs(project, category="running", limit=1)) == [1, 3]
    assert [j["job_id"] for j in reads.list_jobs(project, status=["job_finish"])] == [2]
    assert [e["create_time"] for e in reads.job_history(project, 1, limit=1)] == [99, 11]
    assert reads.report_status(project, "reads-2")["job_count"] == 1
    with pytest.raises(RequestRejected) as missing:
        reads.get_job(project, 404)
    assert (missing.value.status, missing.value.error_code) == (404, "DLI.0002")


def run(local: Local, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "edgeclient", *args, "--endpoint", local.url, "--unsigned"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_command_line_prints_tables_and_json(local: Local, project: str):
    code, out, _ = run(local, "jobs", "list", "--project", project, "--category", "running")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["JOB_ID", "STATUS", "CATEGORY", "SILENT", "CREATE_TIME", "REPORTED_AT", "MESSAGE_ID"]
    assert sorted(row.split()[0] for row in rows) == ["1", "3"]
    code, out, _ = run(local, "jobs", "show", "1", "--project", project, "--json")
    assert (code, json.loads(out)["status"]) == (0, "job_savepointing")
    code, out, _ = run(local, "jobs", "history", "1", "--project", project, "--json")
    assert [e["status"] for e in json.loads(out)] == ["job_savepointing", "job_running"]
    code, out, _ = run(local, "report", "status", "reads-1", "--project", project)
    assert code == 0
    assert out.startswith("stored: message_id reads-1, 3 job(s), received 20")
    code, _, err = run(local, "jobs", "show", "777", "--project", project)
    assert code == 2
    assert err.strip() == "refused: HTTP 404 DLI.0002: job_id: this project has no job 777"


def test_the_client_reads_the_project_at_a_glance_once_the_stream_is_counted(local: Local, project: str):
    # Given the project's three jobs, and two that failed: one with DLI's exception form, one without it
    submit = {"error_type": "JOB_SUBMIT_EXCEPTION", "error_id": "Agent.51000", "error_msg": "submit failed"}
    failed = report(
        job(job_id=4, status="job_submit_fail", create_time=14, exceptions=submit),
        job(job_id=5, status="job_running_exception", create_time=15),
    )
    assert local.post(project, failed).status == 200
    expected: dict[str, Any] = {
        "jobs": 5,
        "categories": {
            "pending": 0,
            "running": 2,
            "stopping": 0,
            "finished": 1,
            "failed": 2,
            "canceled": 0,
            "suspended": 0,
            "unknown": 0,
        },
        "statuses": {
            "job_savepointing": 1,
            "job_finish": 1,
            "job_running": 1,
            "job_submit_fail": 1,
            "job_running_exception": 1,
        },
        "silent": 0,
        "failure_reasons": [
            {"error_type": "JOB_SUBMIT_EXCEPTION", "error_id": "Agent.51000", "jobs": 1},
            {"error_type": None, "error_id": None, "jobs": 1},
        ],
    }
    # When it is read until the events function has counted the stream (seconds), a bounded number of times
    reads = client(local)
    summary = wait_for(lambda: reads.job_summary(project), lambda found: found == expected, reads=60, every_s=0.5)
    # Then it counts every job, in every category, and why the failed ones failed, nulls last
    assert summary == expected
    # And the command prints it as a table: every category in the contract's order, and as many failure
    # reasons as --limit says
    code, out, _ = run(local, "jobs", "summary", "--project", project, "--limit", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["jobs:   5", "silent: 0", "", "CATEGORY   JOBS"]
    assert [line.split() for line in lines[4:12]] == [[c, str(n)] for c, n in expected["categories"].items()]
    assert lines[-2:] == ["ERROR_TYPE            ERROR_ID     JOBS", "JOB_SUBMIT_EXCEPTION  Agent.51000  1"]


def test_a_url_that_is_not_the_apis_base_url_says_so(local: Local, capsys):
    # Given the local API's URL with a stage path, which an HTTP API's $default stage does not have
    argv = ["jobs", "show", "1", "--project", "p1", "--unsigned", "--endpoint", local.url + "/prod"]
    # Then the gateway's own 404 is told apart from the service's
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"refused: HTTP 404: no route here (GET {local.url}/prod/v1/p1/edgesrv/jobs/1): "
        "is --endpoint the API's base URL (the stack output ApiUrl)?"
    )


def test_without_credentials_nothing_is_sent_unsigned(proxy: str, monkeypatch: pytest.MonkeyPatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(NoCredentials, match="--unsigned"):
        Client(proxy)
    code = main(["--endpoint", proxy, "--project", "p1", "--file", str(EVENTS / "report" / "seed.json")])
    assert code == 4
    err = capsys.readouterr().err
    assert err.startswith("not sent: no AWS credentials")
    assert "--unsigned" in err
    assert len(err.splitlines()) == 1
    assert FaultyProxy.seen == []  # nothing reached the network


@pytest.mark.parametrize(
    ("content", "args", "code", "starts"),
    [
        ("not json", [], 1, "bad input: "),
        ("[1, 2]", [], 1, "bad input: "),
        (None, [], 1, "bad input: "),
        ("{}", ["--endpoint", "localhost:3000"], 1, "bad input: endpoint: 'localhost:3000' is not an http(s) URL"),
        ("{}", ["--endpoint", "http://127.0.0.1:9", "--budget", "0.3"], 3, "not delivered: no answer from http://"),
    ],
    ids=["not JSON", "not an object", "no such file", "no scheme", "unreachable"],
)
def test_ordinary_mistakes_print_one_line_and_a_documented_exit_code(tmp_path, capsys, content, args, code, starts):
    report_file = tmp_path / "report.json"
    if content is not None:
        report_file.write_text(content)
    argv = ["send", "--project", "p1", "--file", str(report_file), "--unsigned", *args]
    if "--endpoint" not in argv:
        argv += ["--endpoint", "http://127.0.0.1:9"]
    assert main(argv) == code
    *retries, err = capsys.readouterr().err.strip().splitlines()
    assert err.startswith(starts), err
    assert all(line.startswith("retrying POST ") for line in retries), retries  # told, one line each
    assert "Traceback" not in err
    assert str(code) in (ROOT / "edgeclient" / "__main__.py").read_text().split("exit codes:")[1]


def test_a_report_that_cannot_be_delivered_is_kept_in_the_spool_and_says_how_to_flush(tmp_path: Path, capsys):
    spool = tmp_path / "spool"
    argv = ["send", "--project", "p1", "--file", str(EVENTS / "report" / "seed.json"), "--unsigned"]
    assert main([*argv, "--spool", str(spool), "--endpoint", "http://127.0.0.1:9", "--budget", "0.3"]) == 3
    err = capsys.readouterr().err
    assert f"kept in the spool {spool} (message_id uuid)" in err
    assert f"edgeclient flush --endpoint http://127.0.0.1:9 --spool {spool}" in err
    assert len(list(Spool(spool).pending())) == 1


def test_flushing_an_empty_spool_says_so(tmp_path: Path, capsys):
    assert main(["flush", "--spool", str(tmp_path), "--endpoint", "http://127.0.0.1:9", "--unsigned"]) == 0
    assert capsys.readouterr().err.strip() == f"spool {tmp_path} is empty: nothing to send"


def test_the_old_form_without_a_command_still_sends(local: Local):
    project = uuid.uuid4().hex
    argv = [
        "--endpoint",
        local.url,
        "--project",
        project,
        "--file",
        str(EVENTS / "report" / "seed.json"),
        "--unsigned",
    ]
    assert main(argv) == 0
    assert Client(local.url, retry=FAST, sign=False).get_job(project, 99270)["category"] == "failed"


def test_the_client_installs_as_a_package_with_an_edgeclient_command(tmp_path: Path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT / "edgeclient")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("edgeclient-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert {"edgeclient/__init__.py", "edgeclient/__main__.py", "edgeclient/iot.py"} <= names
    assert "edgeclient = edgeclient.__main__:main" in entry_points
    assert Retry().budget_s == 120.0
