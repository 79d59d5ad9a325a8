"""`python -m edgeclient`: send a report from a file or stdin, or flush a spool directory.

python -m edgeclient --endpoint http://127.0.0.1:3000 --project 48cc2c48765f481480c7db940d6409d1 \
    --file events/report/seed.json
cat report.json | python -m edgeclient --endpoint "$API_URL" --project "$PROJECT_ID"
python -m edgeclient --endpoint "$API_URL" --spool /var/spool/edge-reports --flush
"""

from __future__ import annotations

import argparse
import json
import sys

from edgeclient import Delivery, DeliveryFailed, ReportRejected, Retry, Spool, load_report, send_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edgeclient", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", required=True, help="the API base URL (stack output ApiUrl)")
    parser.add_argument("--project", help="project_id (required unless --flush)")
    parser.add_argument("--file", help="a report body or a payload-2.0 event (default: stdin)")
    parser.add_argument("--spool", help="spool directory: the report is written there first")
    parser.add_argument("--flush", action="store_true", help="send everything waiting in --spool")
    parser.add_argument("--unsigned", action="store_true", help="do not sign (the local API)")
    parser.add_argument("--region", help="region for SigV4 (default: the AWS configuration's)")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds to keep retrying (default 120)")
    args = parser.parse_args(argv)
    options = {"retry": Retry(budget_s=args.budget), "sign": False if args.unsigned else None, "region": args.region}
    try:
        if args.flush:
            if not args.spool:
                parser.error("--flush needs --spool")
            _print(Spool(args.spool).flush(args.endpoint, **options))
            return 0
        if not args.project:
            parser.error("--project is required")
        text = open(args.file).read() if args.file else sys.stdin.read()  # noqa: SIM115
        report = load_report(text)
        if args.spool:
            spool = Spool(args.spool)
            spool.put(args.project, report)
            _print(spool.flush(args.endpoint, **options))
            return 0
        _print([send_report(args.endpoint, args.project, report, **options)])
        return 0
    except ReportRejected as rejected:
        print(f"rejected: HTTP {rejected.status} {rejected.error_code}: {rejected.error_msg}", file=sys.stderr)
        return 2
    except DeliveryFailed as failed:
        print(f"not delivered: {failed}", file=sys.stderr)
        return 3


def _print(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        print(json.dumps(delivery.__dict__))


if __name__ == "__main__":
    raise SystemExit(main())
