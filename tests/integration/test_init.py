"""Init as Lambda runs it: each function's entry module imported once in a fresh process, the cyclic
collector off meanwhile (jobstatus.coldstart).

Each case runs in its own interpreter: a collector left off would show only in a process that
imported the entry module for the first time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import TEMPLATE

PROBE = """
import gc, importlib, json, sys
outcome = "imported"
try:
    importlib.import_module(sys.argv[1])
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"outcome": outcome, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


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
