"""What each path costs, counted on moto by devkit/costs.py (the counts `make bench` prints), held to
devkit.costs.LIMITS: write units of the report path, read units and round trips of the read path,
stream records, invocations and PutEvents calls of the events side; the fleet summary's read and the
counters the events function writes."""

from __future__ import annotations

from typing import Any

import pytest

from devkit import costs
from devkit.costs import LIMITS

pytestmark = pytest.mark.slow(100)


@pytest.fixture(scope="module")
def writes() -> dict[str, Any]:
    return costs.report_write_units()


@pytest.fixture(scope="module")
def events() -> dict[str, Any]:
    # make bench counts 1,000 heartbeats; 300 are three full batches of the template's BatchSize, at a
    # third of the time (each heartbeat is a report through moto and a record through the stream).
    return costs.event_counts(heartbeats=300, changes=100)


def test_a_heartbeat_costs_its_limit_in_write_units_and_writes_no_category_index(writes):
    assert costs.total(writes["heartbeat"]) <= LIMITS.heartbeat_wru, writes["heartbeat"]
    assert writes["heartbeat"].get("gsi2", 0) <= LIMITS.heartbeat_category_index_wru


@pytest.mark.parametrize("change", costs.STATUS_CHANGES)
def test_a_status_change_costs_at_most_its_limit_more_than_a_heartbeat(writes, change):
    assert costs.total(writes[change]) <= costs.total(writes["heartbeat"]) + LIMITS.change_over_heartbeat_wru


def test_a_replay_costs_no_more_than_a_heartbeat(writes):
    assert costs.total(writes["replay"]) <= costs.total(writes["heartbeat"]) + LIMITS.replay_over_heartbeat_wru


def test_an_hour_of_heartbeats_writes_the_indexes_within_their_share(writes):
    hour = writes["an hour of heartbeats"]
    assert hour["table"] == 60 * costs.total(writes["heartbeat"])  # the table: every heartbeat the same
    assert writes["hour index per report"] <= LIMITS.hour_index_per_report, hour


def test_a_page_of_a_category_reads_about_as_many_units_in_a_project_20_times_as_large():
    # make bench compares 1,000 jobs with 100,000; here 20,000 (moto takes half a minute of CPU to hold and
    # query 100,000), where a read that grew with the project would be 20 times over its limit already.
    found = costs.read_units(sizes=(1_000, 20_000), page=100)
    small, large = found["1000"], found["20000"]
    assert large["page_rru"] <= LIMITS.page_rru_growth * small["page_rru"], found
    assert large["get_rru"] == small["get_rru"]


def test_get_job_and_a_page_of_a_category_take_their_round_trips():
    found = costs.read_round_trips()
    assert found["get job"]["round_trips"] <= LIMITS.get_job_round_trips, found
    assert found["page of one category"]["round_trips"] <= LIMITS.page_round_trips, found


def test_heartbeats_publish_nothing_and_reach_the_events_function_in_full_batches(events):
    beats = events["heartbeats"]
    assert beats["put_events_calls"] <= LIMITS.heartbeat_put_events, beats
    assert beats["invocations"] <= costs.most_invocations(beats["reports"], beats["batch_size"]), beats


def test_status_changes_are_published_ten_to_a_put_events_call(events):
    changed = events["changes"]
    assert changed["events"] == changed["changes"], changed  # every change, once
    assert changed["put_events_calls"] <= LIMITS.put_events_per_100_changes * changed["changes"] / 100, changed


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    return costs.summary_costs()


def test_a_summary_reads_as_many_units_at_100000_jobs_as_at_1000_in_one_round_trip(summary):
    small, large = summary["1000"], summary["100000"]
    assert large["rru"] <= LIMITS.summary_rru_growth * small["rru"], summary
    assert max(small["round_trips"], large["round_trips"]) <= LIMITS.summary_round_trips, summary


def test_a_change_moves_the_counters_for_its_limit_and_a_heartbeat_writes_none(summary):
    assert costs.total(summary["counters, heartbeat"]) <= LIMITS.counters_heartbeat_wru, summary
    for change in ("change, same category", "change of category"):
        assert costs.total(summary[f"counters, {change}"]) <= LIMITS.counters_change_wru, summary
    # a shard's first count also files it in the index (1 WRU, once in the shard's life)
    first = summary["counters, first status"]
    assert (first["table"], first.get("gsi1", 0)) == (LIMITS.counters_change_wru, 1), summary
