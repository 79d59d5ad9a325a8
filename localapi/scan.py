"""`python -m localapi scan` (what `make scan` runs): print what the running local stack stored.

Reads every table template.yaml declares (or the ones named) from the moto server of a running
`make run`, and prints each as JSON: {"table": name, "count": n, "items": [...]}, one per line
with --compact, else indented. Items are plain JSON: numbers as numbers, sets as sorted lists,
binary as base64. No AWS CLI needed; with one, the same is
`aws dynamodb scan --endpoint-url http://127.0.0.1:8000 --table-name JobStatusTable` (any
credentials and region).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devkit.moto import client
from devkit.template import TEMPLATE_PATH, LocalTemplate

NOTHING_LISTENS = 3  # exit code: no local stack answers on the port


def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON can hold it."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=lambda v: (str(type(v)), v))
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def scan(dynamodb: Any, table: str, limit: int | None) -> dict[str, Any]:
    deserializer, items = TypeDeserializer(), []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items += [{k: plain(deserializer.deserialize(v)) for k, v in i.items()} for i in page["Items"]]
        if limit is not None and len(items) >= limit:
            items = items[:limit]
            break
    return {"table": table, "count": len(items), "items": items}


def main(argv: list[str]) -> int:
    template = LocalTemplate.read(TEMPLATE_PATH)
    tables = [template.table_name(t) for t in template.tables()]
    parser = argparse.ArgumentParser(prog="python -m localapi scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("table", nargs="*", help=f"tables to print (default: all of {', '.join(tables)})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--dynamodb-port", type=int, default=8000, help="the moto port of `make run` (default 8000)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many items per table")
    parser.add_argument("--compact", action="store_true", help="one line per table")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit: at least 1")
    unknown = [t for t in args.table if t not in tables]
    if unknown:
        parser.error(f"unknown table {', '.join(unknown)}: template.yaml declares {', '.join(tables)}")
    endpoint = f"http://{args.host}:{args.dynamodb_port}"
    dynamodb = client("dynamodb", endpoint, Config(connect_timeout=2, retries={"max_attempts": 1}))
    for table in args.table or tables:
        try:
            result = scan(dynamodb, table, args.limit)
        except ClientError as error:
            print(f"scan: {table}: {error.response['Error'].get('Message', error)}", file=sys.stderr)
            return 1
        except BotoCoreError:
            print(
                f"scan: nothing answers at {endpoint}: start the local stack with `make run` "
                f"(or pass the port it uses: --dynamodb-port N, `make scan DYNAMODB_PORT=N`)",
                file=sys.stderr,
            )
            return NOTHING_LISTENS
        print(json.dumps(result, separators=(",", ":")) if args.compact else json.dumps(result, indent=2), flush=True)
    return 0
