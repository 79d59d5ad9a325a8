"""The fleet function's DynamoDB access: every project's summary items, a project's current items and
count markers, and the repairs of its counters."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jobstatus import layout
from jobstatus.dynamodb import Item, chunked, values
from jobstatus.fleet import REASON, Counters, counter_update, strings_of

WORKERS = 16
# Counters at zero removed by one update: 25 keep its expressions far inside DynamoDB's limits (4 KB
# each, 300 operators), and moto's parser (it recurses once per AND).
ZEROS_PER_UPDATE = 25
Record = dict[str, Any]


class FleetStore:
    def __init__(
        self,
        client: Any,
        *,
        job_table: str,
        silent_after_minutes: int,
        pool: ThreadPoolExecutor | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.counters = Counters(client, job_table=job_table, silent_after_minutes=silent_after_minutes, sleep=sleep)
        self._jobs = self.counters.table
        self._pool = pool or ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fleet")

    def _read(self, keys: Sequence[Item], *, consistent: bool = True) -> list[Item]:
        return self._jobs.read_all(keys, self._pool, consistent=consistent)

    def summaries(self) -> dict[str, list[Record]]:
        """Every project's summary items, found in their partition of the silence index (eventually
        consistent: a picture of the fleet, at half the read units)."""
        entries = self._jobs.query_all(
            IndexName=layout.SILENCE_INDEX,
            KeyConditionExpression="#ipk = :p",
            ExpressionAttributeNames={"#ipk": "gsi1pk"},
            ExpressionAttributeValues={":p": {"S": layout.SUMMARY_INDEX_PK}},
        )
        found: dict[str, list[Record]] = {}
        for item in self._read([{"pk": e["pk"], "sk": e["sk"]} for e in entries], consistent=False):
            found.setdefault(layout.parse_summary_pk(item["pk"]["S"])[0], []).append(values(item))
        return found

    def shard(self, project_id: str, shard: int) -> Record:
        """A project's summary item of this shard (strongly consistent), as plain values; {} for none."""
        item = self._jobs.get(layout.summary_key(layout.summary_pk(project_id, shard)))
        return values(item) if item else {}

    def currents(self, project_id: str, shard: int) -> list[Record]:
        """The current items of a project's jobs in one partition of its category index (job_id % 16)."""
        entries = self._jobs.query_all(
            IndexName=layout.CATEGORY_INDEX,
            KeyConditionExpression="#ipk = :p",
            ExpressionAttributeNames={"#ipk": f"{layout.CATEGORY_INDEX}pk"},
            ExpressionAttributeValues={":p": {"S": layout.category_index_pk(project_id, shard)}},
        )
        # A job that moves in the index while it is paged can be listed twice, and BatchGetItem refuses
        # a request that names a key twice.
        pks = dict.fromkeys(e["pk"]["S"] for e in entries)
        return [values(item) for item in self._read([layout.current_key(pk) for pk in pks])]

    def markers(self, pks: Sequence[str]) -> dict[str, Item]:
        """The count markers of these jobs (their pks), as items; absent ones left out."""
        return {item["pk"]["S"]: item for item in self._read([layout.counted_key(pk) for pk in pks])}

    def add(self, shard_pk: str, change: dict[str, int], reason_names: dict[str, str]) -> None:
        """Add to a summary shard's counters what a recount found them to lack (or to have too many),
        with the strings of the reasons it adds."""
        self._jobs.call("update_item", **counter_update(shard_pk, change, reason_names)["Update"])

    def drop_zeros(self, shard_pk: str, counters: Sequence[str]) -> None:
        """Remove counters that fell to 0 (and their reasons' strings), unless one moved meanwhile; in
        updates of ZEROS_PER_UPDATE counters, each expression well under DynamoDB's 4 KB."""
        for chunk in chunked(counters, ZEROS_PER_UPDATE):
            names = {f"#c{i}": name for i, name in enumerate(chunk)}
            names |= {f"#n{i}": strings_of(name) for i, name in enumerate(chunk) if name.startswith(REASON)}
            self._jobs.write(
                "update_item",
                Key=layout.summary_key(shard_pk),
                UpdateExpression="REMOVE " + ", ".join(names),
                ConditionExpression=" AND ".join(f"#c{i} = :zero" for i in range(len(chunk))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
