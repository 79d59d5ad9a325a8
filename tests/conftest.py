"""Session-wide safety: fake credentials and a fixed region, so no test can reach real AWS.

And the reliability evidence: what the run proved (tests/support.RUN), printed at the end. Test
files run on several workers (pytest-xdist); each worker leaves its part in a folder the main process
made, and the main process adds them up.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


EVIDENCE = "RELIABILITY_EVIDENCE_DIR"
SETS = ("bad inputs", "faults")  # the other keys of RUN are counts


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the main process, before the workers start
        os.environ[EVIDENCE] = tempfile.mkdtemp(prefix="evidence-")


def pytest_sessionfinish(session, exitstatus):
    """A worker leaves what it proved for the main process."""
    from tests.support import RUN  # noqa: PLC0415 - after the credentials above are in place

    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker is not None and os.environ.get(EVIDENCE):
        part = {key: sorted(map(list, value)) if key == "bad inputs" else value for key, value in RUN.items()}
        part["faults"] = sorted(RUN["faults"])
        Path(os.environ[EVIDENCE], f"{worker}.json").write_text(json.dumps(part))


def merged_evidence() -> dict[str, Any]:
    """This process's evidence and every worker's, added up."""
    from tests.support import RUN  # noqa: PLC0415

    totals = {key: set(value) if key in SETS else value for key, value in RUN.items()}
    for part in Path(os.environ.get(EVIDENCE, tempfile.gettempdir())).glob("gw*.json"):
        found = json.loads(part.read_text())
        totals["bad inputs"] |= {tuple(case) for case in found["bad inputs"]}
        totals["faults"] |= set(found["faults"])
        for key in RUN.keys() - set(SETS):
            totals[key] += found[key]
    return totals


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    RUN = merged_evidence()
    if not (RUN["bad inputs"] or RUN["faults"] or RUN["concurrent"]):
        return
    write = terminalreporter.write_line
    write("")
    write("Reliability evidence from this run (docs/reliability.md):")
    write("| measure | value |")
    write("|---|---|")
    write(f"| bad inputs tried (named cases x targets) | {len(RUN['bad inputs'])} |")
    write(f"| generated bodies (hypothesis), none 5xx, none written on 4xx | {RUN['fuzzed bodies']} |")
    write(f"| fault kinds injected | {len(RUN['faults'])}: {', '.join(sorted(RUN['faults']))} |")
    write(f"| concurrent requests held | {RUN['concurrent']} |")
    write(f"| items lost (of {RUN['items checked']} expected items checked after faults and races) | {RUN['lost']} |")
