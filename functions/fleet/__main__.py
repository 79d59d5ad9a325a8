"""`python -m fleet audit --project P [--repair]`: recount a project's (or every project's) summary counters
against its current items, say the drift, and repair it. Runs where AWS credentials are (against the
stack's table: --table, the stack output JobStatusTableName), or against `make run`'s moto
(AWS_ENDPOINT_URL=http://127.0.0.1:8000 --table JobStatusTable). The deployed stack runs it every day.

exit codes: 0 no drift (or repaired); 1 drift left; 2 usage
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from fleet.service import SETTLE_S
from fleet.settings import FleetSettings
from fleet.wiring import build_fleet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser("audit", help="recount the summary counters; --repair what drifted")
    audit.add_argument("--project", help="one project (default: every project with counters)")
    audit.add_argument("--repair", action="store_true", help="repair the drift found")
    audit.add_argument(
        "--table", default=os.environ.get("JOB_STATUS_TABLE"), required="JOB_STATUS_TABLE" not in os.environ
    )
    audit.add_argument("--silent-after-minutes", type=int, default=int(os.environ.get("SILENT_AFTER_MINUTES", "30")))
    audit.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        metavar="SECONDS",
        help=f"pause before drift is measured again ({SETTLE_S:g})",
    )
    args = parser.parse_args(argv)
    settings = FleetSettings.from_env(
        {"JOB_STATUS_TABLE": args.table, "SILENT_AFTER_MINUTES": str(args.silent_after_minutes)}
    )
    fleet = build_fleet(settings, settle_s=args.settle)
    left = 0
    for project_id in [args.project] if args.project else fleet.projects():
        found = fleet.audit(project_id, repair=args.repair)
        left += found.drift_after
        print(json.dumps(asdict(found)))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
