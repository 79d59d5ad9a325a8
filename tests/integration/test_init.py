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
# What Lambda sets besides the template's environment, in an execution environment of one process.
ON_LAMBDA = {
    name: value
    for name, value in TEMPLATE.function("JobReportFunction").lambda_environment.items()
    if name not in TEMPLATE.function("JobReportFunction").environment
}
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
    result = import_entry(function, TEMPLATE.function(function).lambda_environment)
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


@pytest.mark.parametrize(
    ("change", "keeps_to_one"),
    [
        ({}, True),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, True),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, True),  # one full vCPU's share
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1770"}, False),  # more than one vCPU to give up
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": None}, False),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, False),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1\u00b2"}, False),  # a digit to isdigit, not to int
        ({"KEEP_TO_ONE_VCPU": "false"}, False),  # the operator's way out, e.g. under another emulator
        ({"KEEP_TO_ONE_VCPU": "true"}, True),
        ({"AWS_EXECUTION_ENV": None}, False),
        ({"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, False),
        ({"AWS_EXECUTION_ENV": "CloudShell"}, False),
        ({"AWS_LAMBDA_RUNTIME_API": None}, False),  # a process that imports the handler itself
        ({"AWS_SAM_LOCAL": "true"}, False),  # containers on the developer's machine
        ({"AWS_LAMBDA_MAX_CONCURRENCY": "16"}, False),  # Managed Instances: several processes
    ],
)
def test_only_one_lambda_process_at_most_one_vcpu_keeps_to_one(
    change: dict[str, str | None], keeps_to_one: bool
) -> None:
    environment = {key: value for key, value in (ON_LAMBDA | change).items() if value is not None}
    assert coldstart.one_lambda_process_on_one_vcpu(environment) is keeps_to_one


class AffinityCalls:
    """os.sched_getaffinity and os.sched_setaffinity stand-ins: this test process keeps its CPUs."""

    def __init__(self, allowed: set[int], refuse: bool = False) -> None:
        self.allowed, self.refuse, self.asked, self.set_to = allowed, refuse, list[set[int]](), list[set[int]]()

    def get(self, pid: int) -> set[int]:
        return set(self.allowed)

    def set(self, pid: int, cpus: set[int]) -> None:
        self.asked.append(set(cpus))
        if self.refuse:
            raise PermissionError(1, "Operation not permitted")
        self.set_to.append(set(cpus))


@pytest.fixture
def on_lambda(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in ON_LAMBDA.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_SAM_LOCAL", "AWS_LAMBDA_MAX_CONCURRENCY", "KEEP_TO_ONE_VCPU"):  # whatever the shell has
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_it_keeps_to_the_lowest_cpu_it_may_use(on_lambda: pytest.MonkeyPatch) -> None:
    calls = AffinityCalls({3, 5})
    on_lambda.setattr(os, "sched_getaffinity", calls.get)
    on_lambda.setattr(os, "sched_setaffinity", calls.set)
    coldstart.keep_to_one_cpu()
    assert calls.set_to == [{3}]


def test_a_process_already_on_one_cpu_is_left_as_it_is(on_lambda: pytest.MonkeyPatch) -> None:
    calls = AffinityCalls({2})
    on_lambda.setattr(os, "sched_getaffinity", calls.get)
    on_lambda.setattr(os, "sched_setaffinity", calls.set)
    coldstart.keep_to_one_cpu()
    assert calls.set_to == []


def test_a_refused_call_leaves_init_going(on_lambda: pytest.MonkeyPatch) -> None:
    calls = AffinityCalls({0, 1}, refuse=True)
    on_lambda.setattr(os, "sched_getaffinity", calls.get)
    on_lambda.setattr(os, "sched_setaffinity", calls.set)
    coldstart.keep_to_one_cpu()  # no error reaches the entry module's import
    assert calls.asked == [{0}]
    assert calls.set_to == []


def test_without_the_calls_not_linux_init_goes_on(on_lambda: pytest.MonkeyPatch) -> None:
    on_lambda.delattr(os, "sched_getaffinity", raising=False)
    on_lambda.delattr(os, "sched_setaffinity", raising=False)
    coldstart.keep_to_one_cpu()  # no error reaches the entry module's import
