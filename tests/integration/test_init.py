"""Init as Lambda runs it: each function's entry module imported once in a fresh process, the cyclic
collector off meanwhile, and on Lambda the process kept to one vCPU (jobstatus.coldstart).

Each case runs in its own interpreter: a collector left off would show only in a process that
imported the entry module for the first time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jobstatus import coldstart
from tests.support import TEMPLATE

PROBE = """
import gc, importlib, json, os, sys, threading
outcome = "imported"
try:
    importlib.import_module(sys.argv[1])
except Exception as exc:
    outcome = type(exc).__name__
seen = {}
# A thread started after init, as the DynamoDB pools start theirs: it reports its own CPUs (0 = itself).
worker = threading.Thread(target=lambda: seen.update(worker=sorted(os.sched_getaffinity(0))))
worker.start()
worker.join()
print(json.dumps({
    "outcome": outcome, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
    "cpus": sorted(os.sched_getaffinity(0)), "worker_cpus": seen["worker"],
}))
"""
ON_LAMBDA = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.13"}  # as every Lambda runtime sets it
MACHINE_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
one_cpu_to_keep_to = pytest.mark.skipif(len(MACHINE_CPUS) < 2, reason="needs a process allowed on two CPUs or more")


def import_entry(function: str, environment: dict[str, str]) -> dict[str, object]:
    declared = TEMPLATE.function(function)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(declared.code_dir),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, declared.module], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", sorted(TEMPLATE.functions()))
def test_init_freezes_what_it_built_and_turns_the_collector_back_on(function: str) -> None:
    result = import_entry(function, TEMPLATE.function(function).environment)
    assert result["outcome"] == "imported"
    assert result["gc_enabled"] is True
    # botocore's service model, pydantic's validators and the resolver: tens of thousands of objects.
    assert isinstance(result["frozen"], int)
    assert result["frozen"] > 20_000


@pytest.mark.parametrize("function", sorted(TEMPLATE.functions()))
def test_a_failed_init_still_turns_the_collector_back_on(function: str) -> None:
    environment = TEMPLATE.function(function).environment
    del environment["JOB_STATUS_TABLE"]
    result = import_entry(function, environment)
    assert result["outcome"] == "ValidationError"
    assert result["gc_enabled"] is True


@one_cpu_to_keep_to
@pytest.mark.parametrize("function", sorted(TEMPLATE.functions()))
def test_on_lambda_the_process_and_the_threads_it_starts_keep_to_one_cpu(function: str) -> None:
    result = import_entry(function, TEMPLATE.function(function).environment | ON_LAMBDA)
    assert result["outcome"] == "imported"
    assert result["cpus"] == [MACHINE_CPUS[0]]
    assert result["worker_cpus"] == [MACHINE_CPUS[0]]


@one_cpu_to_keep_to
def test_off_lambda_the_process_keeps_every_cpu_it_had() -> None:
    # Tests, the local API and a developer's shell share the machine: none is put on its first CPU.
    result = import_entry("JobReportFunction", TEMPLATE.function("JobReportFunction").environment)
    assert result["outcome"] == "imported"
    assert result["cpus"] == MACHINE_CPUS
    assert result["worker_cpus"] == MACHINE_CPUS


@pytest.mark.parametrize("refusal", ["refused", "missing"])
def test_where_the_kernel_refuses_or_lacks_the_call_init_goes_on(refusal: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", ON_LAMBDA["AWS_EXECUTION_ENV"])
    if refusal == "missing":  # not Linux
        monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    else:

        def refuse(pid: int, cpus: object) -> None:
            raise PermissionError(1, "Operation not permitted")

        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
        monkeypatch.setattr(os, "sched_setaffinity", refuse)
    coldstart.keep_to_one_cpu()  # returns: no error reaches the entry module's import
