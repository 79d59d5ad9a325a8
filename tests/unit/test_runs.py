"""report.runs: which statuses of one job a report keeps in history, and how its current item moves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jobstatus.lifecycle import status_rank
from report.runs import Current, Status, plan, run_of


def status(create_time: int, name: str = "job_running", content: str = "") -> Status:
    return Status(create_time, status_rank(name), run_of({"status": name, "metrics": content}))


def current(of: Status, since: int) -> Current:
    return Current(of.create_time, of.rank, of.run, since)


def decide(statuses: list[Status], now: Current | None, *, keep: bool = False, replay: bool = False):
    return plan(sorted(statuses, key=lambda s: (s.order, s.run)), now, keep_heartbeats=keep, replay=replay)


def test_a_jobs_first_status_is_kept_and_opens_its_run():
    decided = decide([status(5)], None)
    assert (decided.keep, decided.update, decided.since) == ([0], "change", 5)


def test_the_same_status_again_and_newer_is_a_heartbeat():
    decided = decide([status(6)], current(status(5), since=1))
    assert (decided.keep, decided.update) == ([], "heartbeat")


def test_a_new_status_is_kept_and_opens_a_run():
    decided = decide([status(6, "job_finish")], current(status(5), since=1))
    assert (decided.keep, decided.update, decided.since) == ([0], "change", 6)


def test_the_same_status_with_other_content_is_not_a_heartbeat():
    decided = decide([status(6, content="metrics changed")], current(status(5), since=1))
    assert (decided.keep, decided.update, decided.since) == ([0], "change", 6)


def test_run_of_sees_every_field_but_create_time_and_job_id():
    base = {"job_id": 1, "status": "job_running", "create_time": 5}
    assert run_of(base) == run_of(base | {"create_time": 6, "job_id": 2})
    assert run_of(base) != run_of(base | {"metrics": {"cpu": 1}})
    assert run_of(base) != run_of(base | {"agent_version": "2"})  # an unknown field is content too
    assert run_of(base | {"metrics": {"a": 1, "b": 2}}) == run_of(base | {"metrics": {"b": 2, "a": 1}})  # canonical


def test_an_older_status_is_kept_and_moves_nothing():
    decided = decide([status(4)], current(status(5), since=1))
    assert (decided.keep, decided.update) == ([0], "none")


def test_a_late_status_inside_a_run_is_kept_as_out_of_order_statuses_are():
    # the run of job_running began at 1 and was last reported at 5; a report made at 3 arrives now
    decided = decide([status(3)], current(status(5), since=1))
    assert (decided.keep, decided.update) == ([0], "none")


def test_two_statuses_of_a_job_in_one_report_are_taken_in_order():
    assert decide([status(2), status(1)], None).keep == [0]  # the second repeats the first
    decided = decide([status(1), status(2, "job_finish")], None)
    assert (decided.keep, decided.update, decided.since) == ([0, 1], "change", 2)
    decided = decide([status(1), status(2)], current(status(0), since=0))  # both repeat the current one
    assert (decided.keep, decided.update) == ([], "heartbeat")


def test_a_status_between_two_of_a_report_splits_their_run():
    # current job_finish at 3; the report says running at 1 and at 5: 1 is older, 5 follows finish
    decided = decide([status(1), status(5)], current(status(3, "job_finish"), since=3))
    assert (decided.keep, decided.update, decided.since) == ([0, 1], "change", 5)


def test_a_replay_keeps_the_current_status_again_only_if_it_opened_its_run():
    opened = status(5, "job_finish")
    assert decide([opened], current(opened, since=5), replay=True).keep == [0]  # maybe lost between phases
    beat = status(5)
    decided = decide([beat], current(beat, since=1), replay=True)  # it was a heartbeat
    assert (decided.keep, decided.check, decided.update) == ([], [], "none")


def test_a_replays_older_status_is_checked_against_the_history_not_kept_blindly():
    decided = decide([status(4)], current(status(9, "job_finish"), since=9), replay=True)
    assert (decided.keep, decided.check) == ([], [0])


def test_keep_heartbeats_keeps_every_status_and_still_keeps_status_since():
    decided = decide([status(6), status(7)], current(status(5), since=1), keep=True)
    assert (decided.keep, decided.update, decided.since) == ([0, 1], "heartbeat", None)
    assert decide([status(4)], current(status(5), since=1), keep=True, replay=True).keep == [0]


NAMES = ["job_running", "job_finish", "job_init"]


@given(
    reported=st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(NAMES), st.sampled_from(["", "x"])), min_size=1, max_size=8
    ),
    chunk=st.integers(1, 3),
)
def test_in_order_reports_keep_exactly_the_statuses_that_open_a_run(reported, chunk):
    # Given a job's statuses, each a (time, status, content) distinct in time, reported in order
    ordered = sorted({t: (t, n, c) for t, n, c in reported}.values())
    statuses = [status(t, n, c) for t, n, c in ordered]
    kept: list[Status] = []
    now: Current | None = None
    for start in range(0, len(statuses), chunk):
        part = statuses[start : start + chunk]
        decided = decide(part, now)
        kept += [part[i] for i in decided.keep]
        if decided.update == "change":
            now = current(part[-1], since=decided.since or 0)
        elif decided.update == "heartbeat":
            assert now is not None
            now = Current(part[-1].create_time, part[-1].rank, part[-1].run, now.status_since)
    # Then the history is exact: each status whose content differs from the one before it
    openers = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1].run != s.run]
    assert kept == openers
    assert now is not None
    assert now.status_since == openers[-1].create_time
