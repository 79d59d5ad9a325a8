"""edgeclient: send edge job reports, and read job status back.

  edgeclient send --endpoint URL --project ID [--file F | stdin] [--spool DIR]
  edgeclient flush --endpoint URL --spool DIR
  edgeclient jobs list --endpoint URL --project ID [--category C,..] [--status S,..] [--silent true|false]
  edgeclient jobs show JOB_ID --endpoint URL --project ID
  edgeclient jobs history JOB_ID --endpoint URL --project ID [--since MS] [--until MS]
  edgeclient report status MESSAGE_ID --endpoint URL --project ID

Requests are signed with SigV4 from the default AWS credential chain; without credentials nothing
is sent, unless --unsigned is given (the local API of `make run`). Results print as a table, or as
JSON with --json. The endpoint may also come from EDGE_API_URL, the project from EDGE_PROJECT_ID.
`python -m edgeclient --endpoint ... --project ... --file F` (no command) still means `send`.

exit codes:
  0  done
  1  bad input: a file that cannot be read, is not JSON or not a report; a bad endpoint URL
  2  refused by the service (a 4xx: the message says which field), or a usage error
  3  not delivered: no answer within --budget seconds; a spooled report stays in the spool
  4  no AWS credentials to sign with (use --unsigned for the local API)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from edgeclient import (
    Client,
    Delivery,
    DeliveryFailed,
    NoCredentials,
    ReportRejected,
    RequestRejected,
    Retry,
    Spool,
    load_report,
)

COMMANDS = ("send", "flush", "jobs", "report")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv = ["flush" if "--flush" in argv else "send", *[a for a in argv if a != "--flush"]]
    args = _parser().parse_args(argv)
    try:
        client = Client(
            args.endpoint,
            retry=Retry(budget_s=args.budget),
            sign=not args.unsigned,
            region=args.region,
        )
        return int(args.run(client, args))
    except NoCredentials as missing:
        return _fail(4, f"not sent: {missing}")
    except ReportRejected as rejected:
        return _fail(2, f"rejected: HTTP {rejected.status} {rejected.error_code}: {rejected.error_msg}")
    except RequestRejected as refused:
        return _fail(2, f"refused: HTTP {refused.status} {refused.error_code or ''}: {refused.error_msg}")
    except DeliveryFailed as failed:
        return _fail(3, f"not delivered: {failed}")
    except (OSError, ValueError) as bad:
        return _fail(1, f"bad input: {bad}")


def _fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=os.environ.get("EDGE_API_URL"),
        required="EDGE_API_URL" not in os.environ,
        help="the API base URL (stack output ApiUrl; env EDGE_API_URL)",
    )
    common.add_argument("--unsigned", action="store_true", help="do not sign (the local API only)")
    common.add_argument("--region", help="region for SigV4 (default: the AWS configuration's)")
    common.add_argument("--budget", type=float, default=120.0, help="seconds to keep retrying (default 120)")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project",
        default=os.environ.get("EDGE_PROJECT_ID"),
        required="EDGE_PROJECT_ID" not in os.environ,
        help="project_id (env EDGE_PROJECT_ID)",
    )

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
    history.add_argument("--since", type=int, help="create_time from (epoch ms, inclusive)")
    history.add_argument("--until", type=int, help="create_time until (epoch ms, inclusive)")
    history.set_defaults(run=_jobs_history)

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
    except DeliveryFailed as failed:
        print(
            f"not delivered: {failed}\nkept in the spool {args.spool} (message_id {message_id}); "
            f"send it later with: edgeclient flush --endpoint {client.endpoint} --spool {args.spool}",
            file=sys.stderr,
        )
        return 3
    return 0


def _flush(client: Client, args: argparse.Namespace) -> int:
    spool = Spool(args.spool)
    waiting = len(list(spool.pending()))
    if not waiting:
        print(f"spool {args.spool} is empty: nothing to send", file=sys.stderr)
        return 0
    try:
        _deliveries(_flush_spool(client, spool))
    except DeliveryFailed as failed:
        left = len(list(spool.pending()))
        print(
            f"not delivered: {failed}\n{left} of {waiting} reports stay in the spool {args.spool}; flush again later",
            file=sys.stderr,
        )
        return 3
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
    entries = list(client.job_history(args.project, args.job_id, since=args.since, until=args.until))
    _print(args, entries, HISTORY_COLUMNS)
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
    cells = [[_cell(c, row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} {'entry' if len(rows) == 1 else 'entries'})", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
