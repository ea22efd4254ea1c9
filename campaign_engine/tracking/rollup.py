"""Retention: fold raw tracking events past their retention into daily counts, then drop them.

Totals are raw events plus `tracking_daily` counts, and a batch moves events from one to the
other in a single transaction, so totals never change. Unique metrics (delivered, opened,
clicked...) read the first-time columns on `deliveries`, which roll-ups leave alone.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.models import TrackingCursor, TrackingDaily, TrackingEvent

CURSOR = "tracking-rollup"  # its row serialises roll-ups; `position` is the last id rolled
DAILY_KEY = ("campaign_id", "day", "variant", "channel", "kind", "machine")
BATCH = 50_000  # events moved per transaction

DailyKey = tuple[int, date, str, str, str, bool]


def roll_up_events(session: Session, now: datetime, retention_days: int, batch: int = BATCH) -> int:
    """Move one batch of raw events older than `retention_days` into daily counts.

    Takes the `batch` lowest ids among events that occurred before `now - retention_days` and
    returns how many it moved; the caller owns the transaction and calls again, in a new one,
    while a full batch comes back. Safe to repeat and to run from two processes at once: each
    batch first claims the roll-up cursor row, and it counts exactly the rows it deletes.
    """
    _claim(session, now)
    cutoff = now - timedelta(days=retention_days)
    events = cast(Table, TrackingEvent.__table__)
    oldest = select(events.c.id).where(events.c.occurred_at < cutoff).order_by(events.c.id)
    gone = session.execute(
        delete(events)
        .where(events.c.id.in_(oldest.limit(batch)))
        .returning(
            events.c.id,
            events.c.campaign_id,
            events.c.occurred_at,
            events.c.variant,
            events.c.channel,
            events.c.kind,
            events.c.machine,
        )
    ).all()
    if not gone:
        return 0
    counts: Counter[DailyKey] = Counter(
        (row.campaign_id, row.occurred_at.date(), row.variant, row.channel, row.kind, row.machine)
        for row in gone
    )
    _add_to_daily(session, counts)
    last = max(row.id for row in gone)
    session.execute(
        update(TrackingCursor).where(TrackingCursor.name == CURSOR).values(position=last)
    )
    return len(gone)


def _claim(session: Session, now: datetime) -> None:
    """Take the roll-up cursor row (making it on first use) until the transaction ends.

    Writing first matters: PostgreSQL holds the row lock, and SQLite the write lock, from here
    to commit, so a second roll-up waits and then sees what this one deleted.
    """
    moved = update(TrackingCursor).where(TrackingCursor.name == CURSOR).values(moved_at=now)
    claimed: CursorResult[Any] = session.execute(moved)  # type: ignore[assignment]
    if claimed.rowcount == 1:
        return
    try:
        with session.begin_nested():
            session.execute(insert(TrackingCursor).values(name=CURSOR, position=0, moved_at=now))
    except IntegrityError:  # another roll-up made it first: wait for its lock instead
        session.execute(moved)


def _add_to_daily(session: Session, counts: Counter[DailyKey]) -> None:
    """Add counts to `tracking_daily`, creating rows that are missing (keys in a fixed order)."""
    table = cast(Table, TrackingDaily.__table__)
    rows = [
        {**dict(zip(DAILY_KEY, key, strict=True)), "events": n} for key, n in sorted(counts.items())
    ]
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=list(DAILY_KEY),
            set_={"events": table.c.events + upsert.excluded.events},
        ),
        rows,
    )
