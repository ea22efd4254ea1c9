"""Retention roll-up: old raw events become daily counts and totals never change."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Delivery,
    MessageTemplate,
    TrackingDaily,
    TrackingEvent,
)
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import JOBS
from campaign_engine.tracking.rollup import roll_up_events
from tests.factories import make_contact

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RETENTION = 90
CUTOFF = NOW - timedelta(days=RETENTION)
KINDS = ("delivered", "open", "click", "bounce", "unsubscribe")
# Ages of events: well past retention, twice on one day, just past it, exactly at the cutoff
# (kept: only older events are rolled), and recent.
AGES = (
    timedelta(days=200),
    timedelta(days=120, hours=1),
    timedelta(days=120, hours=5),
    timedelta(days=90, seconds=1),
    timedelta(days=90),
    timedelta(days=89),
    timedelta(days=1),
)

Totals = Counter[tuple[int, str, bool]]


def ledger(session: Session, contacts: int = 3) -> list[Delivery]:
    """Two campaigns (email; SMS with variants A and B) sent to `contacts` contacts."""
    template = MessageTemplate(name="plain", subject="Hi", text="Hello")
    email = Campaign(code="NEWS", name="News", channel="email")
    sms = Campaign(code="FLASH", name="Flash", channel="sms")
    session.add_all([template, email, sms])
    session.flush()
    deliveries = []
    for campaign, variants in ((email, ("A",)), (sms, ("A", "B"))):
        run = CampaignRun(campaign_id=campaign.id, due_at=NOW - timedelta(days=300))
        session.add(run)
        session.flush()
        for n in range(contacts):
            variant = variants[n % len(variants)]
            delivery = Delivery(
                key=f"{campaign.code}-{n}",
                run_id=run.id,
                campaign_id=campaign.id,
                contact_id=make_contact(session).id,
                channel=campaign.channel,
                variant=variant,
                template_id=template.id,
                address="somewhere",
                status="accepted",
                planned_at=run.due_at,
                not_before=run.due_at,
                sent_at=run.due_at,
                opened_at=NOW - timedelta(days=200),
            )
            session.add(delivery)
            deliveries.append(delivery)
    session.flush()
    return deliveries


def add_events(
    session: Session, deliveries: list[Delivery], count: int, now: datetime, start: int = 0
) -> None:
    """Add `count` events spread over deliveries, kinds, ages and machine flags."""
    for i in range(start, start + count):
        delivery = deliveries[i % len(deliveries)]
        kind = KINDS[i % len(KINDS)]
        session.add(
            TrackingEvent(
                dedupe_key=f"e{i}",
                delivery_id=delivery.id,
                campaign_id=delivery.campaign_id,
                contact_id=delivery.contact_id,
                channel=delivery.channel,
                variant=delivery.variant,
                kind=kind,
                occurred_at=now - AGES[i % len(AGES)],
                machine=kind in ("open", "click") and i % 3 == 0,
                source="test",
            )
        )
    session.flush()


def roll_up_all(runtime: Runtime, now: datetime = NOW, batch: int = 7) -> int:
    """Roll up as the scheduler does: one transaction per batch until a short one."""
    total = 0
    while True:
        with transaction(runtime.sessions) as session:
            done = roll_up_events(session, now, RETENTION, batch)
        total += done
        if done < batch:
            return total


def totals(runtime: Runtime) -> Totals:
    """Return events per (campaign, kind, machine): raw ones plus daily counts."""
    with transaction(runtime.sessions) as session:
        found: Totals = Counter()
        raw = select(TrackingEvent.campaign_id, TrackingEvent.kind, TrackingEvent.machine)
        for campaign_id, kind, machine in session.execute(raw):
            found[(campaign_id, kind, machine)] += 1
        daily = select(
            TrackingDaily.campaign_id,
            TrackingDaily.kind,
            TrackingDaily.machine,
            TrackingDaily.events,
        )
        for campaign_id, kind, machine, events in session.execute(daily):
            found[(campaign_id, kind, machine)] += events
        return found


def daily_rows(runtime: Runtime) -> dict[tuple[Any, ...], int]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(
                TrackingDaily.campaign_id,
                TrackingDaily.day,
                TrackingDaily.variant,
                TrackingDaily.channel,
                TrackingDaily.kind,
                TrackingDaily.machine,
                TrackingDaily.events,
            )
        )
        return {tuple(row[:-1]): row[-1] for row in rows}


def raw_events(runtime: Runtime) -> list[tuple[int, datetime]]:
    with transaction(runtime.sessions) as session:
        query = select(TrackingEvent.id, TrackingEvent.occurred_at).order_by(TrackingEvent.id)
        return [(i, at) for i, at in session.execute(query)]


def seeded(runtime: Runtime, events: int = 70, now: datetime = NOW) -> list[Delivery]:
    with transaction(runtime.sessions) as session:
        deliveries = ledger(session)
        add_events(session, deliveries, events, now)
    return deliveries


def test_old_events_become_daily_counts_and_totals_stay_the_same(runtime: Runtime) -> None:
    seeded(runtime)
    before, events = totals(runtime), raw_events(runtime)
    with transaction(runtime.sessions) as session:
        old = session.scalars(select(TrackingEvent).where(TrackingEvent.occurred_at < CUTOFF))
        expected: Counter[tuple[int, date, str, str, str, bool]] = Counter(
            (e.campaign_id, e.occurred_at.date(), e.variant, e.channel, e.kind, e.machine)
            for e in old
        )

    rolled = roll_up_all(runtime, batch=7)

    assert rolled == sum(expected.values()) == sum(1 for _, at in events if at < CUTOFF) == 40
    assert totals(runtime) == before
    assert raw_events(runtime) == [(i, at) for i, at in events if at >= CUTOFF]
    assert daily_rows(runtime) == expected
    assert any(n > 1 for n in expected.values())  # events of one day share a row


def test_rolling_up_again_changes_nothing(runtime: Runtime) -> None:
    seeded(runtime)
    roll_up_all(runtime)
    daily, events = daily_rows(runtime), raw_events(runtime)
    assert roll_up_all(runtime) == 0
    assert daily_rows(runtime) == daily
    assert raw_events(runtime) == events


def test_later_old_events_are_added_to_existing_daily_counts(runtime: Runtime) -> None:
    deliveries = seeded(runtime)
    roll_up_all(runtime)
    first = daily_rows(runtime)
    with transaction(runtime.sessions) as session:
        add_events(session, [session.merge(d) for d in deliveries], 35, NOW, start=70)
    before = totals(runtime)
    assert roll_up_all(runtime, batch=1000) == 20
    assert totals(runtime) == before
    after = daily_rows(runtime)
    assert set(first) <= set(after)
    assert all(after[key] >= n for key, n in first.items())
    assert sum(after.values()) == sum(first.values()) + 20


def test_first_seen_times_on_deliveries_outlive_their_events(runtime: Runtime) -> None:
    seeded(runtime)
    roll_up_all(runtime)
    with transaction(runtime.sessions) as session:
        opened = set(session.scalars(select(Delivery.opened_at)))
    assert opened == {NOW - timedelta(days=200)}


def test_two_roll_ups_at_once_count_every_event_once(runtime: Runtime) -> None:
    seeded(runtime, events=140)
    before = totals(runtime)
    start = threading.Barrier(2)
    rolled: list[int] = []
    failures: list[BaseException] = []

    def roll() -> None:
        try:
            start.wait()
            rolled.append(roll_up_all(runtime, batch=3))
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert sum(rolled) == 80
    assert totals(runtime) == before
    assert all(at >= CUTOFF for _, at in raw_events(runtime))


def test_scheduler_job_rolls_up_past_the_configured_retention(runtime: Runtime) -> None:
    job = next(j for j in JOBS if j.name == "tracking-rollup")
    assert job.seconds == 24 * 3600
    seeded(runtime, now=utcnow())
    before = totals(runtime)
    job.run(runtime)
    assert totals(runtime) == before
    cutoff = utcnow() - timedelta(days=runtime.settings.tracking.retention_days)
    assert all(at >= cutoff for _, at in raw_events(runtime))
    assert daily_rows(runtime)


def test_command_rolls_up_events_older_than_the_days_given(
    settings: Settings, runtime: Runtime
) -> None:
    seeded(runtime, now=utcnow())
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    result = CliRunner().invoke(main, ["tracking", "rollup", "--days", "100"], env=env)
    assert result.exit_code == 0, result.output
    assert "30 events older than 100 days rolled up" in result.output
    assert len(raw_events(runtime)) == 40
