"""The delivery ledger's state changes: claim a batch, record results, recover stale claims."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from campaign_engine.channels.base import SendResult
from campaign_engine.models import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=2)
TABLE = cast(Table, Delivery.__table__)  # Core updates: executemany by id, no ORM bookkeeping


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Return how long to wait before attempt `attempts + 1`; never less than Retry-After."""
    exponential: timedelta = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return max(exponential, timedelta(seconds=retry_after or 0))


def claim_batch(
    session: Session, run_id: int, limit: int, now: datetime, after_id: int = 0
) -> list[int]:
    """Claim up to `limit` due, queued deliveries of a run after `after_id`, lowest ids first."""
    due = (
        select(Delivery.id)
        .where(Delivery.run_id == run_id, Delivery.status == "queued")
        .where(Delivery.not_before <= now, Delivery.id > after_id)
        .order_by(Delivery.id)
        .limit(limit)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "queued")
        .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
    )
    return sorted(claimed)


def release(session: Session, ids: Sequence[int], status: str, error: str | None = None) -> None:
    """Put claimed deliveries back (`queued`) or end them (`cancelled`) without sending."""
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids)), Delivery.status == "sending")
            .values(status=status, error=error, claimed_at=None)
        )


def record_results(
    session: Session,
    results: Sequence[SendResult],
    costs: Mapping[int, float],
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> Counter[str]:
    """Store what the provider said; a transient failure is retried with backoff up to a limit."""
    attempts = dict(
        session.execute(
            select(Delivery.id, Delivery.attempts).where(
                Delivery.id.in_([r.delivery_id for r in results])
            )
        ).all()
    )
    rows: dict[str, list[dict[str, Any]]] = {"accepted": [], "queued": [], "failed": []}
    outcomes: Counter[str] = Counter()
    for result in results:
        tries = attempts.get(result.delivery_id, 1)
        row: dict[str, Any] = {"b_id": result.delivery_id, "error": result.reason}
        if result.outcome == "accepted":
            row |= {"provider_id": result.provider_id, "cost": costs.get(result.delivery_id, 0)}
            state = "accepted"
        elif result.outcome == "retry" and tries < max_attempts:
            row["not_before"] = now + backoff(tries, result.retry_after)
            state = "queued"
        else:
            if result.outcome == "retry":
                row["error"] = f"gave up after {tries} attempts: {result.reason}"
            state = "failed"
        rows[state].append(row)
        outcomes["retry" if state == "queued" else state] += 1
    sending = (TABLE.c.id == bindparam("b_id")) & (TABLE.c.status == "sending")
    if rows["accepted"]:
        _mark_accepted(session, rows["accepted"], now, sending)
    if rows["queued"]:
        session.connection().execute(
            update(TABLE)
            .where(sending)
            .values(status="queued", not_before=bindparam("not_before"), error=bindparam("error")),
            rows["queued"],
        )
    if rows["failed"]:
        session.connection().execute(
            update(TABLE).where(sending).values(status="failed", error=bindparam("error")),
            rows["failed"],
        )
    return outcomes


ACCEPT_MANY = text(
    "UPDATE deliveries SET status = 'accepted', sent_at = :now, provider_id = v.provider_id,"
    " cost = v.cost, error = NULL"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:providers AS text[]), CAST(:costs AS numeric[]))"
    " AS v(id, provider_id, cost)"
    " WHERE deliveries.id = v.id AND deliveries.status = 'sending'"
)


def _mark_accepted(
    session: Session, rows: list[dict[str, Any]], now: datetime, sending: Any
) -> None:
    """Mark accepted rows: one statement over arrays on PostgreSQL, executemany elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            ACCEPT_MANY,
            {
                "now": now,
                "ids": [r["b_id"] for r in rows],
                "providers": [r["provider_id"] for r in rows],
                "costs": [r["cost"] for r in rows],
            },
        )
        return
    session.connection().execute(
        update(TABLE)
        .where(sending)
        .values(
            status="accepted",
            sent_at=now,
            provider_id=bindparam("provider_id"),
            cost=bindparam("cost"),
            error=None,
        ),
        rows,
    )


Lookup = Callable[[Sequence[int]], Mapping[int, str]]


def recover_stale(
    session: Session,
    now: datetime,
    lookups: Mapping[str, Lookup],
    lease: timedelta = LEASE,
    run_id: int | None = None,
) -> Counter[str]:
    """Settle deliveries claimed longer than `lease` ago by a sender that died.

    A channel that can look messages up (`lookups[channel]`) says which of them it received:
    those are accepted, the rest queued again, so nothing is sent twice. When the lookup itself
    fails (raises), that channel's deliveries stay `sending` and are asked about again on a
    later call: re-queueing them blind could send them twice. Without a lookup the delivery is
    queued again: at least once (see docs/dispatch.md).
    """
    stale = select(Delivery.id, Delivery.channel).where(
        Delivery.status == "sending", Delivery.claimed_at < now - lease
    )
    if run_id is not None:
        stale = stale.where(Delivery.run_id == run_id)
    by_channel: dict[str, list[int]] = {}
    for delivery_id, channel in session.execute(stale):
        by_channel.setdefault(channel, []).append(delivery_id)
    settled: Counter[str] = Counter()
    for channel, ids in by_channel.items():
        lookup, wanted = lookups.get(channel), set(ids)
        try:
            found = {i: p for i, p in (lookup(ids) if lookup else {}).items() if i in wanted}
        except Exception as exc:  # any provider trouble: settle these on a later call
            log.warning("cannot reconcile %d stale %s deliveries yet: %s", len(ids), channel, exc)
            settled["unsettled"] += len(ids)
            continue
        if found:
            session.connection().execute(
                update(TABLE)
                .where(TABLE.c.id == bindparam("b_id"), TABLE.c.status == "sending")
                .values(status="accepted", sent_at=now, provider_id=bindparam("provider_id")),
                [{"b_id": i, "provider_id": p} for i, p in found.items()],
            )
        lost = [i for i in ids if i not in found]
        release(session, lost, "queued")
        settled["accepted"] += len(found)
        settled["queued"] += len(lost)
    return settled


def run_counts(session: Session, run_id: int) -> dict[str, int]:
    """Return how many of a run's deliveries are in each state."""
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.run_id == run_id)
        .group_by(Delivery.status)
    )
    return {status: count for status, count in rows}
