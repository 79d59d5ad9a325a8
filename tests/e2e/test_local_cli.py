"""The local run's command line, as a new user meets it: a busy port, reading what was stored, a template
Parameter given to it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest

from devkit.template import ROOT
from tests.support import TEMPLATE, seed_body
from tests.support.local import Local, free_port


def localapi(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localapi", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(("option", "make"), [("--port", "PORT"), ("--dynamodb-port", "DYNAMODB_PORT")])
def test_a_busy_port_is_one_line_naming_it_and_the_option_to_pick_another(taken: int, option: str, make: str):
    ports = {"--port": str(free_port()), "--dynamodb-port": str(free_port()), option: str(taken)}
    result = localapi(*[part for pair in ports.items() for part in pair], "--quiet")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert f"port {taken} " in line
    assert f"{option} N" in line
    assert f"make run {make}=N" in line


def test_scan_prints_every_table_of_the_template_with_what_a_report_stored(local: Local):
    project = uuid.uuid4().hex
    assert local.post(project, seed_body()).status == 200
    result = localapi("scan", "--dynamodb-port", str(local.dynamodb_port), "--compact")
    assert result.returncode == 0, result.stderr
    tables = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["table"] for t in tables] == [TEMPLATE.table_name(t) for t in TEMPLATE.tables()]
    jobs = next(t for t in tables if t["table"] == "JobStatusTable")
    current = [i for i in jobs["items"] if i["pk"].startswith(project) and i["sk"] == "CURRENT"]
    assert [(i["job_id"], i["status"]) for i in current] == [(99270, "job_submit_fail")]
    assert current[0]["exceptions"] == seed_body()["jobs"][0]["exceptions"]  # as sent, plain JSON
    one = localapi("scan", "IdempotencyTable", "--dynamodb-port", str(local.dynamodb_port), "--limit", "1")
    assert json.loads(one.stdout)["table"] == "IdempotencyTable"
    assert len(json.loads(one.stdout)["items"]) == 1


def test_scan_without_a_running_stack_says_how_to_start_one():
    result = localapi("scan", "--dynamodb-port", str(free_port()))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "make run" in result.stderr
    assert "--dynamodb-port" in result.stderr


def test_scan_of_a_table_the_template_does_not_declare_is_refused():
    result = localapi("scan", "NoSuchTable")
    assert result.returncode == 2
    assert "unknown table NoSuchTable" in result.stderr


def test_a_host_this_machine_does_not_have_is_one_line_not_a_traceback():
    result = localapi("--host", "192.0.2.1", "--port", str(free_port()), "--dynamodb-port", str(free_port()))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("localapi: cannot listen on --host 192.0.2.1")


def test_a_parameter_given_to_the_local_run_reaches_the_functions_as_the_template_maps_it(
    local: Local, start: Callable[..., Local]
):
    # Given a job reported twice with the same status (a heartbeat), on the default stack and on one
    # started with --parameter KeepHeartbeats=true
    def history_after_a_heartbeat(stack: Local) -> list[int]:
        project = uuid.uuid4().hex
        for create_time in (1, 2):
            body = {"jobs": [{"job_id": 7, "status": "job_running", "create_time": create_time}]}
            assert stack.post(project, body | {"message_id": str(uuid.uuid4())}).status == 200
        answer = stack.get(f"/v1/{project}/edgesrv/jobs/7/history")
        return [entry["create_time"] for entry in answer.json["history"]]

    # Then the default folds the heartbeat into the current status, and the parameter keeps it
    assert history_after_a_heartbeat(local) == [1]
    assert history_after_a_heartbeat(start("--parameter", "KeepHeartbeats=true", "--quiet")) == [2, 1]
