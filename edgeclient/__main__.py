"""edgeclient: send edge job reports, and read job status back.

  edgeclient send --endpoint URL --project ID [--file F | stdin] [--spool DIR]
  edgeclient flush --endpoint URL --spool DIR
  edgeclient jobs list --endpoint URL --project ID [--category C,..] [--status S,..] [--silent true|false]
  edgeclient jobs show JOB_ID --endpoint URL --project ID
  edgeclient jobs history JOB_ID --endpoint URL --project ID [--since T] [--until T] [--limit N]
  edgeclient jobs summary --endpoint URL --project ID [--limit N]
  edgeclient report status MESSAGE_ID --endpoint URL --project ID

Requests are signed with SigV4: with a device's certificate through the AWS IoT credential
provider (--device DIR, or --iot-endpoint, --role-alias, --thing-name, --cert, --key), else with
the default AWS credential chain; without credentials nothing is sent, unless --unsigned is given
(the local API of `make run`). Each value comes from its flag, else its environment variable
(EDGE_API_URL, EDGE_PROJECT_ID, EDGE_DEVICE), else the device's device.json. Results print as a
table, or as JSON with --json. Retries are told on stderr, one line each.
`python -m edgeclient --endpoint ... --project ... --file F` (no command) still means `send`.

exit codes:
  0  done
  1  bad input: a file that cannot be read, is not JSON or not a report; a bad endpoint URL; a bad device.json
  2  refused by the service (a 4xx: the message says which field), a URL with no route (HTTP 404
     from API Gateway itself: not the API's base URL), or a usage error
  3  no answer within --budget seconds (reports 120, reads 10); a spooled report stays in the spool
  4  no AWS credentials to sign with: none found (use --unsigned for the local API), or the IoT
     credential provider refused the device (the message says what to check)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from edgeclient import (
    Client,
    Delivery,
    DeliveryFailed,
    NoCredentials,
    NoRoute,
    ReportRejected,
    RequestRejected,
    Retry,
    Spool,
    load_report,
    region_from_url,
)
from edgeclient.iot import Device, IotCredentials

COMMANDS = ("send", "flush", "jobs", "report")
READS = ("jobs", "report")
REPORT_BUDGET_S, READ_BUDGET_S = 120.0, 10.0
IOT_FLAGS = {
    "iot_endpoint": "--iot-endpoint",
    "role_alias": "--role-alias",
    "thing_name": "--thing-name",
    "cert": "--cert",
    "key": "--key",
}
AGO = re.compile(r"(\d+)([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def main(
    argv: list[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv = ["flush" if "--flush" in argv else "send", *[a for a in argv if a != "--flush"]]
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        client = _client(parser, args, sleep, clock)
        return int(args.run(client, args))
    except (DeliveryFailed, RequestRejected, OSError, ValueError) as error:
        code, message = _failure(error, args)
        return _fail(code, message)


def _client(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Client:
    """The client the arguments describe: each value from its flag, else its variable, else device.json."""
    device_path = args.device or os.environ.get("EDGE_DEVICE")
    device = Device.load(device_path) if device_path else None
    args.endpoint_source = "--endpoint" if args.endpoint else "EDGE_API_URL"
    args.endpoint = args.endpoint or os.environ.get("EDGE_API_URL")
    if not args.endpoint and device is not None:
        args.endpoint, args.endpoint_source = device.api_url, f"api_url in {device.path}"
    if not args.endpoint:
        parser.error("--endpoint is required (or EDGE_API_URL, or --device)")
    if "project" in args:
        args.project = args.project or os.environ.get("EDGE_PROJECT_ID") or (device and device.project_id)
        if not args.project:
            parser.error("--project is required (or EDGE_PROJECT_ID, or --device)")
    # The device's region only where the URL has none (a custom domain): the URL's is the API's.
    region = args.region or (region_from_url(args.endpoint) or device.region if device else None)
    default_budget = READ_BUDGET_S if args.command in READS else REPORT_BUDGET_S
    budget = default_budget if args.budget is None else args.budget
    return Client(
        args.endpoint,
        retry=Retry(budget_s=budget),
        read_retry=Retry.reads(budget),
        sign=not args.unsigned,
        credentials=None if args.unsigned else _iot_credentials(parser, args, device),
        region=region,
        on_retry=lambda line: print(line, file=sys.stderr),
        sleep=sleep,
        clock=clock,
    )


def _iot_credentials(
    parser: argparse.ArgumentParser, args: argparse.Namespace, device: Device | None
) -> IotCredentials | None:
    """The device certificate's credentials when a device or an IoT flag is given; None: the default chain."""
    values = {name: getattr(args, name) for name in IOT_FLAGS}
    if device is not None:
        stored = {
            "iot_endpoint": device.credential_provider_endpoint,
            "role_alias": device.role_alias,
            "thing_name": device.thing_name,
            "cert": device.certificate,
            "key": device.private_key,
        }
        values = {name: value or stored[name] for name, value in values.items()}
    if not any(values.values()) and not args.ca:
        return None
    missing = [flag for name, flag in IOT_FLAGS.items() if not values[name]]
    if missing:
        parser.error(f"credentials from a device certificate need {', '.join(missing)} too (or --device)")
    return IotCredentials(
        endpoint=values["iot_endpoint"],
        role_alias=values["role_alias"],
        thing_name=values["thing_name"],
        certificate=values["cert"],
        private_key=values["key"],
        ca=args.ca,
    )


def _failure(error: Exception, args: argparse.Namespace) -> tuple[int, str]:
    """The exit code and the one line that explain an error."""
    if isinstance(error, NoCredentials):
        return 4, f"not sent: {error}"
    if isinstance(error, NoRoute):
        return 2, f"refused: HTTP 404: {error.error_msg}: {_is_base_url(args)}"
    if isinstance(error, ReportRejected):
        return 2, f"rejected: HTTP {error.status} {error.error_code}: {error.error_msg}"
    if isinstance(error, RequestRejected):
        return 2, f"refused: HTTP {error.status} {error.error_code or ''}: {error.error_msg}"
    if isinstance(error, DeliveryFailed) and args.command in READS:
        return 3, f"no answer: {error}" + (f": {_is_base_url(args)}" if error.endpoint_unreachable else "")
    if isinstance(error, DeliveryFailed):
        return 3, f"not delivered: {error}"
    return 1, f"bad input: {error}"


def _is_base_url(args: argparse.Namespace) -> str:
    return f"is {args.endpoint_source} the API's base URL (the stack output ApiUrl)?"


def _fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def parse_time(text: str, now: datetime) -> int:
    """Epoch ms from epoch ms (digits), an ISO 8601 date or date-time (naive: UTC), or a time ago (30m, 2h, 7d)."""
    if text.isascii() and text.isdigit():
        return int(text)
    ago = AGO.fullmatch(text)
    if ago:
        moment = now - timedelta(**{UNITS[ago.group(2)]: int(ago.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a time: epoch ms (digits), an ISO 8601 date or date-time "
                "(2026-12-05, 2026-12-05T13:00:00Z; naive is UTC) or a time ago (30m, 2h, 7d)"
            ) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _time_arg(text: str) -> int:
    return parse_time(text, datetime.now(UTC))


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", help="the API base URL (stack output ApiUrl; env EDGE_API_URL)")
    common.add_argument("--unsigned", action="store_true", help="do not sign (the local API only)")
    common.add_argument(
        "--region",
        help="region for SigV4 (default: the endpoint URL's; else the device's; else the AWS configuration's)",
    )
    common.add_argument(
        "--budget", type=float, help="seconds to keep retrying (default: 120 for send and flush, 10 for reads)"
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    iot = common.add_argument_group("credentials from a device certificate (the AWS IoT credential provider)")
    iot.add_argument(
        "--device",
        metavar="DIR_OR_FILE",
        help="a registered device's folder or its device.json: endpoint, project, region and the flags below "
        "(env EDGE_DEVICE)",
    )
    iot.add_argument("--iot-endpoint", help="aws iot describe-endpoint --endpoint-type iot:CredentialProvider")
    iot.add_argument("--role-alias", help="the IoT role alias to assume")
    iot.add_argument("--thing-name", help="the thing attached to the certificate")
    iot.add_argument("--cert", help="the device certificate (PEM file)")
    iot.add_argument("--key", help="its private key (PEM file)")
    iot.add_argument("--ca", help="a CA file to trust for the endpoint (default: the system trust store)")
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument("--project", help="project_id (env EDGE_PROJECT_ID)")

    parser = argparse.ArgumentParser(
        prog="edgeclient", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", parents=[common, project], help="send a report (from --file or stdin)")
    send.add_argument("--file", help="a report body or a payload-2.0 event (default: stdin)")
    send.add_argument("--spool", help="spool directory: the report is written there first, kept until stored")
    send.set_defaults(run=_send)
    flush = commands.add_parser("flush", parents=[common], help="send everything waiting in --spool")
    flush.add_argument("--spool", required=True, help="the spool directory")
    flush.set_defaults(run=_flush)

    jobs = commands.add_parser("jobs", help="read job status").add_subparsers(dest="what", required=True)
    listing = jobs.add_parser("list", parents=[common, project], help="a project's jobs")
    listing.add_argument("--category", help="comma-separated: pending, running, stopping, finished, failed, ...")
    listing.add_argument("--status", help="comma-separated statuses")
    listing.add_argument("--silent", choices=["true", "false"])
    listing.add_argument("--limit", type=int, default=100, help="page size (all pages are read)")
    listing.set_defaults(run=_jobs_list)
    show = jobs.add_parser("show", parents=[common, project], help="one job's current status")
    show.add_argument("job_id", type=int)
    show.set_defaults(run=_jobs_show)
    history = jobs.add_parser("history", parents=[common, project], help="a job's statuses, newest first")
    history.add_argument("job_id", type=int)
    when = "epoch ms, ISO 8601 date or date-time (UTC unless it says), or a time ago: 30m, 2h, 7d"
    history.add_argument("--since", type=_time_arg, help=f"create_time from, inclusive ({when})")
    history.add_argument("--until", type=_time_arg, help=f"create_time until, inclusive ({when})")
    history.add_argument("--limit", type=int, default=100, help="page size (all pages are read)")
    history.set_defaults(run=_jobs_history)
    summary = jobs.add_parser(
        "summary", parents=[common, project], help="a project's jobs at a glance: counts, silent jobs, why jobs fail"
    )
    summary.add_argument("--limit", type=int, help="failure reasons listed, 1..100 (default: the service's, 10)")
    summary.set_defaults(run=_jobs_summary)

    report = commands.add_parser("report", help="report lookups").add_subparsers(dest="what", required=True)
    status = report.add_parser("status", parents=[common, project], help="whether a report (message_id) landed")
    status.add_argument("message_id")
    status.set_defaults(run=_report_status)
    return parser


# --- commands ----------------------------------------------------------------------------------


def _send(client: Client, args: argparse.Namespace) -> int:
    text = open(args.file).read() if args.file else sys.stdin.read()  # noqa: SIM115
    try:
        report = load_report(text)
    except ValueError as bad:
        raise ValueError(
            f"{args.file or 'stdin'} is not a report (a JSON object or a payload-2.0 event): {bad}"
        ) from None
    if not args.spool:
        _deliveries([client.send_report(args.project, report)])
        return 0
    spool = Spool(args.spool)
    message_id = spool.put(args.project, report)
    try:
        _deliveries(_flush_spool(client, spool))
    except (DeliveryFailed, NoRoute) as failed:
        code, message = _failure(failed, args)
        print(
            f"{message}\nkept in the spool {args.spool} (message_id {message_id}); "
            f"send it later with: edgeclient flush --endpoint {client.endpoint} --spool {args.spool}",
            file=sys.stderr,
        )
        return code
    return 0


def _flush(client: Client, args: argparse.Namespace) -> int:
    spool = Spool(args.spool)
    waiting = len(list(spool.pending()))
    if not waiting:
        print(f"spool {args.spool} is empty: nothing to send", file=sys.stderr)
        return 0
    try:
        _deliveries(_flush_spool(client, spool))
    except (DeliveryFailed, NoRoute) as failed:
        code, message = _failure(failed, args)
        left = len(list(spool.pending()))
        print(
            f"{message}\n{left} of {waiting} reports stay in the spool {args.spool}; flush again later",
            file=sys.stderr,
        )
        return code
    return 0


def _flush_spool(client: Client, spool: Spool) -> list[Delivery]:
    def rejected(path: Any, refusal: ReportRejected) -> None:
        print(
            f"rejected, moved to {path}: HTTP {refusal.status} {refusal.error_code}: {refusal.error_msg}",
            file=sys.stderr,
        )

    return spool.flush(client, on_rejected=rejected)


def _jobs_list(client: Client, args: argparse.Namespace) -> int:
    silent = None if args.silent is None else args.silent == "true"
    jobs = client.list_jobs(args.project, category=args.category, status=args.status, silent=silent, limit=args.limit)
    _print(args, list(jobs), JOB_COLUMNS)
    return 0


def _jobs_show(client: Client, args: argparse.Namespace) -> int:
    job = client.get_job(args.project, args.job_id)
    if args.json:
        print(json.dumps(job, ensure_ascii=False))
    else:
        for name, value in job.items():
            print(f"{name + ':':<14}{_cell(name, value)}")
    return 0


def _jobs_history(client: Client, args: argparse.Namespace) -> int:
    history = client.job_history(args.project, args.job_id, since=args.since, until=args.until, limit=args.limit)
    entries = list(history)
    _print(args, entries, HISTORY_COLUMNS)
    return 0


def _jobs_summary(client: Client, args: argparse.Namespace) -> int:
    summary = client.job_summary(args.project, limit=args.limit)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    for name in ("jobs", "silent"):
        print(f"{name + ':':<8}{summary[name]}")
    for column, counts in (("category", summary["categories"]), ("status", summary["statuses"])):
        print()
        _table([{column: name, "jobs": count} for name, count in counts.items()], (column, "jobs"))
    print()
    reasons = [
        {name: "-" if value is None else value for name, value in reason.items()}
        for reason in summary["failure_reasons"]
    ]
    _table(reasons, REASON_COLUMNS)
    return 0


def _report_status(client: Client, args: argparse.Namespace) -> int:
    found = client.report_status(args.project, args.message_id)
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
    else:
        received = _time(found["received_at"])
        print(f"stored: message_id {found['message_id']}, {found['job_count']} job(s), received {received}")
    return 0


# --- output ------------------------------------------------------------------------------------

JOB_COLUMNS = ("job_id", "status", "category", "silent", "create_time", "reported_at", "message_id")
HISTORY_COLUMNS = ("create_time", "status", "category", "received_at", "message_id")
REASON_COLUMNS = ("error_type", "error_id", "jobs")


def _deliveries(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        print(json.dumps(delivery.__dict__))


def _time(epoch_ms: Any) -> str:
    return datetime.fromtimestamp(int(epoch_ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _cell(name: str, value: Any) -> str:
    if name in ("create_time", "reported_at", "received_at", "silent_since") and isinstance(value, int):
        return _time(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "yes" if value is True else "no" if value is False else str(value)


def _print(args: argparse.Namespace, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    _table(rows, columns)
    print(f"({len(rows)} {'entry' if len(rows) == 1 else 'entries'})", file=sys.stderr)


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """A header of the column names, then a line per row, each column as wide as its widest cell."""
    cells = [[_cell(c, row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
