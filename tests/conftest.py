"""Session-wide safety: fake credentials and a fixed region, so no test can reach real AWS.

And what the run proved, at its end: the reliability evidence (tests/support.RUN), printed, and
written as a table where RELIABILITY_EVIDENCE names (`make test`: .evidence/reliability.md, never
committed); and the IAM evaluation of every AWS call the handlers made (tests/iam). Test files run
on several workers (pytest-xdist); each worker leaves its part in a folder the main process made,
and the main process adds them up.
"""

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

# Set before any boto3 client exists. Profiles and real endpoints are removed.
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
    AWS_SESSION_TOKEN="testing",  # noqa: S106
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)


def pytest_collection_modifyitems(session, config, items):
    """The slow files first, longest first, so that no worker starts a minute-long file at the end
    of the run; the others keep their order. (Every worker sorts its identical collection alike.)"""

    def seconds(item):
        marker = item.get_closest_marker("slow")
        return -(marker.args[0] if marker and marker.args else 0)

    items.sort(key=seconds)


EVIDENCE = "RELIABILITY_EVIDENCE_DIR"
SETS = ("bad inputs", "faults")  # the other keys of RUN are counts


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the main process, before the workers start
        os.environ[EVIDENCE] = tempfile.mkdtemp(prefix="evidence-")


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(EVIDENCE):
        shutil.rmtree(os.environ.pop(EVIDENCE), ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):
    """A worker leaves what it proved, and its handlers' AWS calls, for the main process; the main
    process fails the run when a role denies one of the calls."""
    from tests.iam.calls import RECORDER  # noqa: PLC0415
    from tests.support import RUN  # noqa: PLC0415 - after the credentials above are in place

    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker is not None:
        if os.environ.get(EVIDENCE):
            part = {key: sorted(map(list, value)) if key == "bad inputs" else value for key, value in RUN.items()}
            part["faults"] = sorted(RUN["faults"])
            part["calls"] = sorted(map(list, RECORDER.calls))
            Path(os.environ[EVIDENCE], f"{worker}.json").write_text(json.dumps(part))
        return
    calls = set(RECORDER.calls)
    folder = os.environ.get(EVIDENCE)
    for found in Path(folder).glob("gw*.json") if folder else []:
        calls |= {tuple(call) for call in json.loads(found.read_text())["calls"]}
    if calls and session.exitstatus == 0:
        session.config.stash[ACCESS] = verdict = access_verdict(calls)
        if verdict.denied:
            session.exitstatus = 1
    session.config.stash[EXIT] = int(session.exitstatus)


ACCESS = pytest.StashKey[Any]()
EXIT = pytest.StashKey[int]()  # the run's exit status, the access verdict included


def access_verdict(calls: set[Any]) -> Any:
    """The IAM engine on every AWS call the run's handlers made (tests/iam), each against its function's role."""
    from tests.iam.policies import deployed, evaluate  # noqa: PLC0415

    return evaluate(calls, deployed())


def evidence_rows(run: dict[str, Any]) -> list[str]:
    faults = len(run["faults"])
    return [
        "| measure | value |",
        "|---|---|",
        f"| bad inputs tried (named cases x targets) | {len(run['bad inputs'])} |",
        f"| generated bodies (hypothesis), none 5xx, none written on 4xx | {run['fuzzed bodies']} |",
        f"| fault kinds injected | {faults}: {', '.join(sorted(run['faults']))} |",
        f"| concurrent requests held | {run['concurrent']} |",
        f"| items lost (of {run['items checked']} expected items checked after faults and races) | {run['lost']} |",
    ]


def merged_evidence() -> dict[str, Any]:
    """This process's evidence and every worker's, added up."""
    from tests.support import RUN  # noqa: PLC0415

    totals = {key: set(value) if key in SETS else value for key, value in RUN.items()}
    folder = os.environ.get(EVIDENCE)
    for part in Path(folder).glob("gw*.json") if folder else []:
        found = json.loads(part.read_text())
        totals["bad inputs"] |= {tuple(case) for case in found["bad inputs"]}
        totals["faults"] |= set(found["faults"])
        for key in RUN.keys() - set(SETS):
            totals[key] += found[key]
    return totals


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    verdict = config.stash.get(ACCESS, None)
    if verdict is not None:
        write = terminalreporter.write_line
        write("")
        write("IAM: every AWS call the handlers made in this run, evaluated against its function's role (tests/iam):")
        for denied in verdict.denied:
            write(f"FAILED: denied: {denied}", red=True)
        for unused in verdict.unused:
            write(f"granted but not needed by any call of this run or by the platform: {unused}")
        if not verdict.denied and not verdict.unused:
            write("every call allowed; every grant needed")
    RUN = merged_evidence()
    if not (RUN["bad inputs"] or RUN["faults"] or RUN["concurrent"]):
        return
    write = terminalreporter.write_line
    rows = evidence_rows(RUN)
    write("")
    write("Reliability evidence from this run (docs/reliability.md says what each row counts):")
    for row in rows:
        write(row)
    target = os.environ.get("RELIABILITY_EVIDENCE")
    if target and not hasattr(config, "workerinput"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        status = config.stash.get(EXIT, int(exitstatus))
        Path(target).write_text(evidence_document(rows, status, terminalreporter.stats))
        write(f"written to {target}")


def evidence_document(rows: list[str], status: int, stats: dict[str, list[Any]]) -> str:
    """The table as a page of its own: when the run ended, whether it passed, how its tests fared."""
    outcomes = ", ".join(
        f"{len(stats[kind])} {kind}" for kind in ("passed", "failed", "error", "skipped") if stats.get(kind)
    )
    verdict = "passed" if status == 0 else f"failed (exit status {status})"
    ended = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "# Reliability evidence from a test run",
            "",
            f"Written by the test run that ended {ended}. Its result: {verdict}; its tests: {outcomes}.",
            "docs/reliability.md says what each row counts and which test proves each promise. This file",
            "is generated by every `make test` and never committed.",
            "",
            *rows,
            "",
        ]
    )
