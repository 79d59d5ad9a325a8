"""python -m onboard node: register a device of a project (what it does: onboard/node.py).

  python -m onboard node --stack STACK --thing NAME --out DIR [--csr FILE] [--new-certificate] [--region R]
  python -m onboard node --project ID --api-url URL --role-alias ALIAS --policy POLICY --thing NAME --out DIR ...

AWS credentials and region come from the AWS configuration, as for the AWS CLI; AWS_ENDPOINT_URL
points it at another endpoint (a moto server).

exit codes:
  0  done, or nothing to do
  1  refused (the message says why, and what to do instead), or an AWS call failed
  2  bad input: usage, a thing name or project id AWS IoT or the API would refuse, an unreadable CSR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from onboard.node import THING_NAME, THING_NAME_RULE, Project, Refused, project_from_stack, register

CSR_HEADER = "-----BEGIN CERTIFICATE REQUEST-----"


def main(argv: list[str] | None = None, *, iot: Any = None, cloudformation: Any = None) -> int:
    """The command; `iot` and `cloudformation` are clients to use instead of the AWS configuration's."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not THING_NAME.fullmatch(args.thing):
        parser.error(THING_NAME_RULE)
    explicit = (args.project, args.api_url, args.role_alias, args.policy)
    given = [value is not None for value in explicit]
    if not all(given) if args.stack is None else any(given):
        parser.error("give --stack, or all of --project, --api-url, --role-alias and --policy")
    try:
        csr = _csr(args.csr) if args.csr else None
        project = Project(*explicit) if args.stack is None else None
    except (OSError, ValueError) as bad:
        return _fail(2, f"bad input: {bad}")

    done: list[str] = []

    def say(line: str) -> None:
        done.append(line)
        print(line)

    session = boto3.Session(region_name=args.region)
    out = Path(args.out)
    try:
        if project is None:
            project = project_from_stack(cloudformation or session.client("cloudformation"), args.stack)
        iot = iot or session.client("iot")
        register(iot, project, args.thing, out, csr=csr, new_certificate=args.new_certificate, say=say)
    except Refused as refused:
        return _fail(1, f"refused: {refused}")
    except (BotoCoreError, ClientError, OSError) as failed:
        return _fail(1, f"failed: {failed}")
    if not done:
        print(f"nothing to do: thing {args.thing} is registered, and {out} is up to date")
    print(f"next: python -m edgeclient send --device {out} --file docs/examples/report.json")
    return 0


def _csr(path: str) -> str:
    text = Path(path).read_text()
    if CSR_HEADER not in text:
        raise ValueError(f"{path} is not a certificate signing request in PEM ({CSR_HEADER})")
    return text


def _fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m onboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    node = commands.add_parser(
        "node",
        help="register a device of a project: its thing, certificate, policy, and files",
        description="Register a device of a project; docs/onboarding-node.md.",
    )
    node.add_argument("--thing", required=True, help="the device's thing name (1 to 128 of a-z A-Z 0-9 : _ -)")
    node.add_argument("--out", required=True, help="folder for device.json, certificate.pem and private.key")
    node.add_argument("--stack", help="the project's stack (project.yaml): its outputs name the project")
    node.add_argument("--project", help="project_id (instead of --stack)")
    node.add_argument("--api-url", help="the API's base URL, the report stack's output ApiUrl (instead of --stack)")
    node.add_argument("--role-alias", help="the project's IoT role alias (instead of --stack)")
    node.add_argument("--policy", help="the project's IoT policy for device certificates (instead of --stack)")
    node.add_argument("--csr", help="the device's certificate signing request (PEM): its private key stays on it")
    node.add_argument(
        "--new-certificate",
        action="store_true",
        help="the thing has a certificate already: create and attach another (rotation), into a new --out",
    )
    node.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
