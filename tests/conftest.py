"""Session-wide safety: fake credentials and a fixed region, so no test can reach real AWS."""

import os

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


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.support import RUN  # noqa: PLC0415 - after the credentials above are in place

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
