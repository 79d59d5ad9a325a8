"""The fleet summary: what a job is counted as, what a change of it adds to its project's counters, the
summary those counters make, and the transaction that moves them. The stream consumer (notify) keeps
the counters, the read function (query) answers GET .../job-summary from them, the fleet function
(fleet) recounts and repairs them and publishes the fleet's metrics.

A job is counted by its current status: its category, its status, whether it is silent (marked by
the sweep), and for a failed job the reason its current status gives (the `error_type` and
`error_id` strings of its exceptions object, DLI's own form; None where they are absent, not
strings, or the exceptions are a string). A project's counters are numbers on its summary items
(jobstatus.layout: one per shard), each named for what it counts:
    jobs, silent, c#{category}, s#{status}, r#{reason digest}
and each reason's own strings beside its count, n#{reason digest} = JSON [error_type, error_id].
A counter that falls to 0 stays until a recount removes it; summaries leave zeros out.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from jobstatus import layout, lifecycle
from jobstatus.dynamodb import Item, Table, deserialize
from jobstatus.errors import DependencyUnavailable

Reason = tuple[str | None, str | None]  # (error_type, error_id)


@dataclass(frozen=True, slots=True)
class Counted:
    """What one job is counted as."""

    category: str
    status: str
    silent: bool
    reason: Reason | None  # failed jobs only

    @property
    def key(self) -> str:
        """The marker's form of it (a string, so that a condition can compare it)."""
        return json.dumps([self.category, self.status, self.silent, self.reason], separators=(",", ":"))

    @classmethod
    def of_key(cls, key: str) -> Counted:
        category, status, silent, reason = json.loads(key)
        return cls(category, status, silent, tuple(reason) if reason is not None else None)


# A reason is counted by the first characters of its strings: the job's marker and the summary shard
# hold them, and nothing else bounds them (an exceptions object may be 400 KB of one error_type).
REASON_CHARS = 256


def reason_of(exceptions: Any) -> Reason:
    """The failure reason an exceptions value gives: its error_type and error_id strings (their first
    REASON_CHARS characters), else None."""
    if not isinstance(exceptions, Mapping):
        return None, None
    kind, code = exceptions.get("error_type"), exceptions.get("error_id")
    return (
        kind[:REASON_CHARS] if isinstance(kind, str) else None,
        code[:REASON_CHARS] if isinstance(code, str) else None,
    )


def counted(current: Mapping[str, Any], silent_after_minutes: int, exceptions: Any = None) -> Counted:
    """What a job's current item (as plain values) counts as; `exceptions`, when the item holds only a
    reference to them (exceptions_ref), as read from its history item."""
    status = str(current["status"])
    category = lifecycle.category_of(status)
    silent = silent_after_minutes > 0 and category in lifecycle.ACTIVE_CATEGORIES and "silent_since" in current
    reason = None
    if category == "failed":
        reason = reason_of(current.get("exceptions", exceptions))
    return Counted(category, status, silent, reason)


def reason_digest(reason: Reason) -> str:
    return hashlib.sha256(json.dumps(list(reason)).encode()).hexdigest()[:16]


# The counters' names: two totals, then one per category, status and reason digest; a reason's
# strings are kept beside its counter under the same digest.
TOTALS = ("jobs", "silent")
PER_VALUE = ("c#", "s#", "r#")
REASON, REASON_STRINGS = "r#", "n#"


def is_counter(name: str) -> bool:
    """Whether a summary item's attribute is one of its counters."""
    return name in TOTALS or name.startswith(PER_VALUE)


def strings_of(reason_counter: str) -> str:
    """The name of the strings beside a reason's counter (r#{digest} -> n#{digest})."""
    return REASON_STRINGS + reason_counter.removeprefix(REASON)


def deltas(old: Counted | None, new: Counted | None) -> dict[str, int]:
    """What moving a job from `old` to `new` (None: not counted) adds to each counter, zeros left out."""
    change: Counter[str] = Counter()
    for state, sign in ((old, -1), (new, 1)):
        if state is None:
            continue
        change["jobs"] += sign
        change[f"c#{state.category}"] += sign
        change[f"s#{state.status}"] += sign
        if state.silent:
            change["silent"] += sign
        if state.reason is not None:
            change[REASON + reason_digest(state.reason)] += sign
    return {name: value for name, value in change.items() if value}


def names(new: Counted | None) -> dict[str, str]:
    """The reason strings a counter of `new` is for (n#{digest} = JSON), to set beside it."""
    if new is None or new.reason is None:
        return {}
    return {REASON_STRINGS + reason_digest(new.reason): json.dumps(list(new.reason))}


class FailureReason(BaseModel):
    """Failed jobs grouped by the error_type and error_id of their current status's exceptions."""

    error_type: str | None
    error_id: str | None
    jobs: int


class Summary(BaseModel):
    """A project's jobs at a glance: counts of jobs currently in each category and status."""

    jobs: int = Field(description="Jobs with a current status (reported with a job_id)")
    categories: dict[str, int] = Field(description="Every category, zeros included")
    statuses: dict[str, int] = Field(description="The statuses with at least one job")
    silent: int = Field(description="Jobs silent (as ?silent=true lists them, at most two minutes late)")
    failure_reasons: list[FailureReason] = Field(
        description="Most jobs first; ties by error_type, error_id, nulls last"
    )


def summarize(items: Iterable[Mapping[str, Any]], *, limit: int) -> Summary:
    """The summary of a project from its summary items (plain values), or of many projects from all theirs."""
    totals: Counter[str] = Counter()
    reasons: dict[str, Reason] = {}
    for item in items:
        for name, value in item.items():
            if is_counter(name):
                totals[name] += int(value)
            elif name.startswith(REASON_STRINGS):
                kind, code = json.loads(value)
                reasons[name] = (kind, code)
    # (a reason counter whose strings are missing, which only a hand edit leaves, is not listed)
    grouped = [
        (reasons[strings_of(name)], n)
        for name, n in totals.items()
        if name.startswith(REASON) and n > 0 and strings_of(name) in reasons
    ]
    grouped.sort(key=lambda entry: (-entry[1], _last(entry[0][0]), _last(entry[0][1])))
    return Summary(
        jobs=totals["jobs"],
        categories={category: totals[f"c#{category}"] for category in lifecycle.CATEGORIES},
        statuses={name[2:]: n for name, n in sorted(totals.items()) if name.startswith("s#") and n > 0},
        silent=totals["silent"],
        failure_reasons=[FailureReason(error_type=k, error_id=c, jobs=n) for (k, c), n in grouped[:limit]],
    )


def _last(value: str | None) -> tuple[int, str]:
    """Ascending order with None last."""
    return (1, "") if value is None else (0, value)


# --- the counters, moved exactly once -------------------------------------------------------------
SEQUENCE_DIGITS = 40  # https://docs.aws.amazon.com/amazondynamodbstreams/latest/APIReference/API_StreamRecord.html
ROUNDS = 4  # a marker found disagreeing is believed, and the change counted again from it
# What `counted` reads of a current item: two images that agree on these count alike.
COUNTED_FROM = ("status", "silent_since", "exceptions", "exceptions_ref")


class Counters:
    """A job's marker and its project's counters, moved together by one transaction.

    The stream consumer is at-least-once: a retried or bisected batch is delivered again. So a change
    is counted by one transaction of two writes: the job's marker of what it is counted as, moved to
    the record's sequence number on condition that it is older and says what the change moves the job
    from; and the additions to the counters of the job's summary shard. A redelivered record finds the
    marker at its sequence number or past it, and counts nothing. A marker that disagrees with the
    record's old image (a record lost to the on-failure queue, a repair between) is believed: the
    change is counted from what the marker says instead. Sequence numbers of one item grow, also from
    a shard to its children (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html),
    and are compared as 40-digit strings.

    What it costs: nothing for a change that counts as nothing new (a heartbeat, a new metrics object);
    for one that does (a category, a status, a silence, a failure reason), a transaction of two writes
    of under 1 KB each: 4 write units (a transactional write costs twice a plain one).
    """

    def __init__(
        self, client: Any, *, job_table: str, silent_after_minutes: int, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.table = Table(client, job_table, sleep=sleep)
        self.silent_after_minutes = silent_after_minutes

    def counted(self, current: Mapping[str, Any] | None) -> Counted | None:
        """What a current item (plain values) counts as; None for no current status."""
        if current is None or "status" not in current:
            return None  # (moto streams a keys-only image before an UpdateItem's first)
        exceptions = None
        if lifecycle.category_of(str(current["status"])) == "failed" and "exceptions_ref" in current:
            # exceptions over 32 KB stay in the history item (report.store): their reason is read there
            key = {"pk": {"S": str(current["pk"])}, "sk": {"S": str(current["exceptions_ref"])}}
            held = self.table.get(key, ["exceptions"])
            exceptions = deserialize(held["exceptions"]) if held and "exceptions" in held else None
        return counted(current, self.silent_after_minutes, exceptions)

    def count(self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, sequence: str) -> bool:
        """Count one change of a current item (its stream record's images, as plain values); whether
        the counters moved."""
        image = new if new is not None else old
        if old is not None and new is not None and all(old.get(name) == new.get(name) for name in COUNTED_FROM):
            return False  # a heartbeat, a new metrics object: counted alike, and nothing need be read
        before, after = self.counted(old), self.counted(new)
        if image is None or before == after:
            return False  # a heartbeat, a new metrics object, a write that changed nothing: the same counts
        sequence = sequence.zfill(SEQUENCE_DIGITS)
        for _ in range(ROUNDS):
            answer = self.table.transact(self.writes(str(image["pk"]), before, after, newer_than=sequence))
            if answer is None:
                return True
            marker = answer[0].item if answer[0] is not None else None
            if marker is not None and marker["seq"]["S"] >= sequence:
                return False  # counted already: the record was delivered again
            before = marker_state(marker)
            if before == after:
                return False
        raise DependencyUnavailable("a job's count marker kept moving while its change was counted")

    def writes(
        self, pk: str, before: Counted | None, after: Counted | None, *, newer_than: str
    ) -> list[dict[str, Any]]:
        """The transaction that counts a stream record: the job's marker, moved to the record's sequence
        number on condition that it is older and says `before` (or, for `before` None, that there is
        none), and the counters of the job's shard."""
        condition = "#seq < :seq AND #counted = :was"
        if before is None:
            condition = f"attribute_not_exists(#pk) OR ({condition})"
        return [
            _marker(pk, after, condition, {":seq": {"S": newer_than}, ":was": {"S": before.key if before else ""}}),
            _counters(pk, before, after),
        ]

    def repair(self, pk: str, marker: Item | None, actual: Counted | None) -> bool:
        """Count a job as its current item says, where its marker (as read) says otherwise; whether it
        was done (False: the marker moved since it was read, a record being counted meanwhile). A new
        marker takes an empty sequence, so that every record of the job counts after it."""
        before = marker_state(marker)
        if marker is None:
            condition, values = "attribute_not_exists(#pk)", {}
        else:
            condition = "#seq = :seq AND #counted = :was"
            values = {":seq": marker["seq"], ":was": {"S": before.key if before else ""}}
        answer = self.table.transact([_marker(pk, actual, condition, values), _counters(pk, before, actual)])
        return answer is None


def _marker(pk: str, after: Counted | None, condition: str, values: Item) -> dict[str, Any]:
    names_ = {"#seq": "seq", "#counted": "counted", "#pk": "pk"}
    expression = "SET #counted = :now, #seq = " + (":seq" if ":seq" in values else "if_not_exists(#seq, :none)")
    values = values | {":now": {"S": after.key if after else ""}} | ({} if ":seq" in values else {":none": {"S": ""}})
    return {
        "Update": {
            "Key": layout.counted_key(pk),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {k: v for k, v in names_.items() if k in expression + condition},
            "ExpressionAttributeValues": values,
        }
    }


def _counters(pk: str, before: Counted | None, after: Counted | None) -> dict[str, Any]:
    project_id, job_id = layout.parse_job_pk(pk)
    return counter_update(
        layout.summary_pk(project_id, layout.category_shard(job_id)), deltas(before, after), names(after)
    )


def marker_state(marker: Item | None) -> Counted | None:
    """What a marker item says a job is counted as."""
    if marker is None or not marker.get("counted", {}).get("S"):
        return None
    return Counted.of_key(marker["counted"]["S"])


def counter_update(shard_pk: str, change: Mapping[str, int], reason_names: Mapping[str, str]) -> dict[str, Any]:
    """The update that adds `change` to a summary shard's counters (and sets the reasons' strings); the
    shard is filed in the silence index's summary partition (its keys never change, so once)."""
    names_: dict[str, str] = {"#g1pk": "gsi1pk", "#g1sk": "gsi1sk"}
    values: Item = {":g1pk": {"S": layout.SUMMARY_INDEX_PK}, ":g1sk": {"S": shard_pk}}
    sets = ["#g1pk = :g1pk", "#g1sk = :g1sk"]
    for i, (name, text) in enumerate(reason_names.items()):
        names_[f"#n{i}"], values[f":n{i}"] = name, {"S": text}
        sets.append(f"#n{i} = :n{i}")
    adds = []
    for i, (name, delta) in enumerate(change.items()):
        names_[f"#d{i}"], values[f":d{i}"] = name, {"N": str(delta)}
        adds.append(f"#d{i} :d{i}")
    return {
        "Update": {
            "Key": layout.summary_key(shard_pk),
            "UpdateExpression": "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else ""),
            "ExpressionAttributeNames": names_,
            "ExpressionAttributeValues": values,
        }
    }
