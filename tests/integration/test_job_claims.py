"""Periodic jobs are claimed in the database: one run per period, whatever the schedulers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaign_engine.db import transaction
from campaign_engine.models import JobRun
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import Job, claim, run_claimed

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_a_run_is_claimed_once_per_period(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        assert claim(session, "refresh", 3600, T0)
    with transaction(runtime.sessions) as session:
        assert not claim(session, "refresh", 3600, T0 + timedelta(minutes=59))
        assert claim(session, "other", 3600, T0)
    with transaction(runtime.sessions) as session:
        assert claim(session, "refresh", 3600, T0 + timedelta(minutes=60))


def test_two_schedulers_offering_the_same_job_run_it_once(runtime: Runtime) -> None:
    runs: list[Runtime] = []
    job = Job("probe", 3600, runs.append)
    run_claimed(job, runtime)
    run_claimed(job, runtime)  # a second scheduler a moment later
    assert runs == [runtime]
    with transaction(runtime.sessions) as session:
        row = session.get(JobRun, "probe")
        assert row is not None and row.outcome == "ok" and row.finished_at is not None


def test_a_failing_job_records_why_and_does_not_stop_the_scheduler(runtime: Runtime) -> None:
    def broken(_: Runtime) -> None:
        raise RuntimeError("no disk")

    run_claimed(Job("broken", 60, broken), runtime)
    with transaction(runtime.sessions) as session:
        row = session.get(JobRun, "broken")
        assert row is not None and row.outcome == "failed: no disk"
