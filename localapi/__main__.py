"""`python -m localapi` (what `make run` starts): serve every function of template.yaml locally until Ctrl-C.

`python -m localapi scan` (what `make scan` runs) prints what a running one stored.
"""

from __future__ import annotations

import argparse
import errno
import json
import shlex
import signal
import socket
import sys
import threading
from pathlib import Path

from devkit.template import ROOT, TEMPLATE_PATH, LocalTemplate
from localapi.stack import LocalStack

SEED_EVENT = ROOT / "events" / "report" / "seed.json"
PORT_BUSY = 2  # exit code: a port is taken


def busy_ports(host: str, ports: dict[str, int]) -> list[str]:
    """Which of the ports (by their option) something already listens on: bound here for a moment,
    with SO_REUSEADDR as both servers bind, so a port in TIME_WAIT is not called busy. Any other
    failure to bind (an address not of this machine, a name that does not resolve) is raised."""
    busy = []
    for option, port in ports.items():
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                busy.append(option)
    return busy


def port_busy_message(host: str, option: str, port: int) -> str:
    make = {"--port": "PORT", "--dynamodb-port": "DYNAMODB_PORT"}[option]
    return (
        f"localapi: port {port} on {host} is already in use ({option}): stop what holds it, "
        f"or pick another with {option} N (make run {make}=N)"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["scan"]:
        from localapi import scan  # noqa: PLC0415 - the subcommand only

        return scan.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="HTTP API port (default 3000)")
    parser.add_argument(
        "--dynamodb-port", type=int, default=8000, help="DynamoDB and the other AWS services (moto) port (default 8000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="execution environments per function (default 2)")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="override a template parameter"
    )
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH, help="the SAM template (default template.yaml)")
    args = parser.parse_args(argv)
    try:
        overrides = dict(item.split("=", 1) for item in args.parameter)
        template = LocalTemplate.read(args.template, overrides=overrides)
    except ValueError as exc:
        parser.error(f"--parameter: {exc}")
    ports = {"--port": args.port, "--dynamodb-port": args.dynamodb_port}
    try:
        busy = busy_ports(args.host, ports)
    except OSError as error:  # e.g. --host names an address this machine does not have
        reason = error.strerror or str(error)
        print(f"localapi: cannot listen on --host {args.host}: {reason}", file=sys.stderr)
        return PORT_BUSY
    if busy:
        for option in busy:
            print(port_busy_message(args.host, option, ports[option]), file=sys.stderr)
        return PORT_BUSY
    stack = LocalStack(
        template,
        host=args.host,
        port=args.port,
        moto_port=args.dynamodb_port,
        workers=args.workers,
        access_log=not args.quiet,
    )
    try:
        stack.start()
    except OSError as error:  # a port taken between the check and the bind
        if error.errno != errno.EADDRINUSE:
            raise
        stack.stop()
        taken = ", ".join(f"{option} {port}" for option, port in ports.items())
        print(f"localapi: a port was taken while starting ({taken}): pick others with those options", file=sys.stderr)
        return PORT_BUSY
    print(banner(stack), flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    print("\nstopping", file=sys.stderr)
    stack.stop()
    return 0


def banner(stack: LocalStack) -> str:
    """What `make run` prints once the stack answers: the routes, the endpoints, a first curl."""
    routes = "\n".join(
        f"  {route.method:<6} {stack.url}{route.path}  ({route.function})" for route in stack.template.routes()
    )
    tables = ", ".join(stack.template.table_name(t) for t in stack.template.tables())
    moto_port = stack.moto_port
    lines = [
        "Edge job-report API (local, from template.yaml)",
        routes,
        f"  AWS       {stack.moto_url}  (moto, in memory: DynamoDB tables {tables}, and the other AWS services)",
    ]
    seed = json.loads(SEED_EVENT.read_text())
    body = json.dumps(json.loads(seed["body"]), separators=(",", ":"))  # one line, so it pastes as one
    lines += [
        "",
        "Send the seed example:",
        f"  curl -sS -X {seed['requestContext']['http']['method']} {stack.url}{seed['rawPath']} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
    ]
    reads = read_examples(stack.template)
    if reads:
        lines += ["", "Then read it back:"]
        lines += [f"  curl -sS {shlex.quote(stack.url + path)}" for path in reads]
    lines += [
        "",
        f"API explorer (Swagger UI, local only): {stack.url}/swagger",
        "",
        "See what was stored:",
        f"  make scan{'' if moto_port == 8000 else f' DYNAMODB_PORT={moto_port}'}"
        f"    (or .venv/bin/python -m localapi scan --dynamodb-port {moto_port})",
        "  with the AWS CLI (any credentials and region work, but it needs some):",
        "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\",
        f"  aws dynamodb scan --endpoint-url {stack.moto_url} --table-name {next(iter(stack.template.tables()))}",
        "",
        "Ctrl-C stops.",
    ]
    return "\n".join(lines)


def read_examples(template: LocalTemplate) -> list[str]:
    """Path and query of every GET event in events/ whose route the template declares, bad ones left out."""
    routes = {route.route_key for route in template.routes() if route.method == "GET"}
    examples = []
    for path in sorted((ROOT / "events").glob("*/*.json")):
        event = json.loads(path.read_text())
        if event.get("routeKey") in routes and not path.name.startswith("bad-"):
            query = event.get("rawQueryString") or ""
            examples.append(event["rawPath"] + (f"?{query}" if query else ""))
    return examples


if __name__ == "__main__":
    raise SystemExit(main())
