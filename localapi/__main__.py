"""`python -m localapi` (what `make run` starts): serve the job-report route locally until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from pathlib import Path

from localapi.server import LocalApi
from localapi.template import ROOT, LocalTemplate

SEED_EVENT = ROOT / "events" / "seed.json"
SAMPLE_PROJECT = "48cc2c48765f481480c7db940d6409d1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="HTTP API port (default 3000)")
    parser.add_argument("--dynamodb-port", type=int, default=8000, help="DynamoDB (moto) port (default 8000)")
    parser.add_argument("--workers", type=int, default=2, help="concurrent execution environments (default 2)")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="override a template parameter"
    )
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.parameter)

    api = LocalApi(
        LocalTemplate.read(overrides=overrides),
        host=args.host,
        port=args.port,
        dynamodb_port=args.dynamodb_port,
        workers=args.workers,
        access_log=not args.quiet,
    ).start()
    route = api.function.path.replace("{project_id}", SAMPLE_PROJECT)
    # The seed event's body on one line, so the command pastes as one line.
    seed_body = json.dumps(json.loads(json.loads(Path(SEED_EVENT).read_text())["body"]), separators=(",", ":"))
    tables = ", ".join(api.template.table_name(t) for t in api.template.tables())
    print(
        f"Job-report API (local, from template.yaml)\n"
        f"  API       {api.function.method} {api.url}{api.function.path}\n"
        f"  DynamoDB  {api.dynamodb_url}  (moto, in memory; tables: {tables})\n"
        f"\nSend the seed example:\n"
        f"  curl -sS -X POST {api.url}{route} -H 'Content-Type: application/json' -d {shlex.quote(seed_body)}\n"
        f"\nAPI explorer (Swagger UI, local only): {api.url}/swagger\n"
        f"\nSee what was stored (any credentials and region work, but the CLI needs some):\n"
        f"  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\\n"
        f"  aws dynamodb scan --endpoint-url {api.dynamodb_url} --table-name {next(iter(api.template.tables()))}\n"
        f"\nCtrl-C stops.",
        flush=True,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    print("\nstopping", file=sys.stderr)
    api.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
