"""Init as Lambda runs it: app.py imported once in a fresh process, the cyclic collector off meanwhile.

Each case runs in its own interpreter: the test process has imported app already, and a
collector left off would show only in a process that imported app for the first time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from localapi.template import ROOT
from tests.support import TEMPLATE

PROBE = """
import gc, json
outcome = "imported"
try:
    import app
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"outcome": outcome, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def import_app(environment: dict[str, str]) -> dict[str, object]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT / "functions" / "job_report"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_init_freezes_what_it_built_and_turns_the_collector_back_on() -> None:
    result = import_app(TEMPLATE.function().environment)
    assert result["outcome"] == "imported"
    assert result["gc_enabled"] is True
    # botocore's service model, pydantic's validators and the resolver: tens of thousands of objects.
    assert isinstance(result["frozen"], int)
    assert result["frozen"] > 20_000


def test_a_failed_init_still_turns_the_collector_back_on() -> None:
    environment = TEMPLATE.function().environment
    del environment["JOB_STATUS_TABLE"]
    result = import_app(environment)
    assert result["outcome"] == "ValidationError"
    assert result["gc_enabled"] is True
