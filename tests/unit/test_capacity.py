"""The billing model the benchmark and the cost tests count with: DynamoDB's rules, on crafted items."""

from __future__ import annotations

from devkit.capacity import Index, write_cost

KEYS = ("pk", "sk")
CATEGORY = Index("gsi2", ("gsi2pk", "gsi2sk"), "INCLUDE", ("status",))
SILENCE = Index("gsi1", ("gsi1pk", "gsi1sk"), "KEYS_ONLY")


def item(**attributes: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": "p#JOB#1"}, "sk": {"S": "CURRENT"}} | {k: {"S": v} for k, v in attributes.items()}


def test_a_new_item_is_one_table_write_and_one_put_per_index_it_enters():
    new = item(status="job_running", gsi2pk="a", gsi2sk="1", gsi1pk="s", gsi1sk="1")
    assert write_cost(None, new, [CATEGORY, SILENCE], KEYS) == {"table": 1, "gsi2": 1, "gsi1": 1}


def test_an_update_of_unprojected_attributes_writes_no_index():
    old = item(status="job_running", gsi2pk="a", gsi2sk="1", gsi1pk="s", gsi1sk="1", create_time="1")
    new = old | {"create_time": {"S": "2"}, "reported_at": {"S": "9"}}
    assert write_cost(old, new, [CATEGORY, SILENCE], KEYS) == {"table": 1}


def test_a_moved_index_key_is_a_delete_and_a_put_and_a_projected_change_is_one_write():
    old = item(status="job_running", gsi2pk="a", gsi2sk="1")
    assert write_cost(old, old | {"gsi2pk": {"S": "b"}}, [CATEGORY], KEYS) == {"table": 1, "gsi2": 2}
    assert write_cost(old, old | {"status": {"S": "job_savepointing"}}, [CATEGORY], KEYS) == {"table": 1, "gsi2": 1}


def test_leaving_a_sparse_index_is_one_delete_and_size_counts_by_the_started_kb():
    old = item(gsi1pk="s", gsi1sk="1")
    new = {k: v for k, v in old.items() if k not in ("gsi1pk", "gsi1sk")}
    assert write_cost(old, new, [SILENCE], KEYS) == {"table": 1, "gsi1": 1}
    big = item(blob="x" * 3000)
    assert write_cost(None, big, [], KEYS) == {"table": 3}
    assert write_cost(big, item(), [], KEYS) == {"table": 3}  # the larger of the old and the new item
