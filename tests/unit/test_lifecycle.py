"""The data model's rules: categories, silence, and the keys every function builds."""

from __future__ import annotations

from collections import Counter

import pytest

from jobstatus import layout, lifecycle

CONTRACT = {  # CONTRACT.md, "Status categories", verbatim
    "pending": {"job_init", "job_submitting", "job_downloading", "job_idle", "job_arrearage_recovering"},
    "running": {"job_running", "job_savepointing", "job_cancel_fail"},
    "stopping": {"job_canceling"},
    "finished": {"job_finish"},
    "failed": {"job_submit_fail", "job_running_exception"},
    "canceled": {"job_cancel_success"},
    "suspended": {"job_arrearage_stopped"},
}


def test_every_known_status_has_the_contracts_category_and_any_other_is_unknown():
    for category, statuses in CONTRACT.items():
        for status in statuses:
            assert lifecycle.category_of(status) == category
    assert set().union(*CONTRACT.values()) == lifecycle.KNOWN_STATUSES
    for status in ("job_quantum", "JOB_RUNNING", "x"):
        assert lifecycle.category_of(status) == "unknown"
    assert {"pending", "running", "stopping"} == lifecycle.ACTIVE_CATEGORIES
    assert (*CONTRACT, "unknown") == lifecycle.CATEGORIES


@pytest.mark.parametrize(("minutes", "width_s"), [(0, 900), (1, 30), (2, 60), (20, 600), (30, 900), (600, 900)])
def test_the_silence_bucket_is_half_the_threshold_between_30_s_and_15_min(minutes, width_s):
    assert lifecycle.bucket_width_ms(minutes) == width_s * 1000


def test_a_job_is_silent_only_when_active_and_quiet_for_longer_than_the_threshold():
    reported = 1_000_000
    assert lifecycle.silent_since("running", reported, 30, reported + 1_800_000) is None  # exactly: not "longer"
    assert lifecycle.silent_since("running", reported, 30, reported + 1_800_001) == reported + 1_800_000
    assert lifecycle.silent_since("pending", reported, 1, reported + 61_000) == reported + 60_000
    for category in ("finished", "failed", "canceled", "suspended", "unknown"):
        assert lifecycle.silent_since(category, reported, 30, reported + 10**9) is None
    assert lifecycle.silent_since("running", reported, 0, reported + 10**9) is None


def test_an_active_jobs_category_key_sorts_by_bucket_and_a_range_selects_by_category_and_bucket():
    early = layout.category_index_sk("running", 1_000_000, 5)
    late = layout.category_index_sk("running", 2_000_000, 4)
    low, high = layout.category_index_range("running", last_bucket=1_000_000)
    assert low <= early <= high < late
    low, high = layout.category_index_range("running", first_bucket=1_500_000)
    assert early < low <= late <= high
    low, high = layout.category_index_range("running")
    assert low <= early < late <= high
    for other in ("pending", "runninh", "stopping", "failed"):
        assert not low <= layout.category_index_sk(other, 1_000_000, 5) <= high
    assert layout.category_index_sk("finished", 2_000_000, 4) == layout.category_index_sk("finished", 9, 4)
    assert layout.category_of_index_sk(late) == "running"


def test_keys_begin_with_the_project_and_parse_back():
    assert layout.parse_job_pk(layout.job_pk("p1", 99270)) == ("p1", 99270)
    for key in (layout.job_pk("p1", 1), layout.message_pk("p1", "m"), layout.ledger_pk("p1", "m")):
        assert key.startswith("p1#")
    assert layout.category_index_pk("p1", 3).startswith("p1#")


def test_history_bounds_enclose_every_status_at_their_create_time():
    for status in ("a", "zzzz", "Z.9-_", "s" * 64):
        sk = layout.history_sk(7, status, "0123456789abcdef")
        assert layout.history_sk_bound(7) <= sk < layout.history_sk_bound(7, last=True)
        assert layout.history_sk_bound(6, last=True) < sk < layout.history_sk_bound(8)


def test_the_silence_index_spreads_jobs_evenly_over_its_shards():
    shards = Counter(layout.silence_index_pk(f"p{j % 7}", j) for j in range(64_000))
    assert set(shards) == set(layout.silence_index_pks())
    assert max(shards.values()) < 1.1 * 64_000 / layout.SILENCE_SHARDS


def test_the_category_index_spreads_consecutive_jobs_evenly_over_its_shards():
    shards = Counter(layout.category_index_pk("p1", layout.category_shard(job_id)) for job_id in range(1, 121))
    assert len(shards) == layout.CATEGORY_SHARDS
    assert max(shards.values()) - min(shards.values()) <= 1
