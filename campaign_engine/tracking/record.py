"""Record message events: deduplicate, classify, store, and apply what they mean.

Every source (the pixel, the click redirect, unsubscribe pages, SendGrid and Twilio
webhooks, inbound SMS) hands `RawEvent`s to `record_events`. It drops events naming unknown
deliveries and replays (by `dedupe_key`), stores the rest, keeps each delivery's first
delivered/open/click/... time, and turns bounces, spam reports and unsubscribes into
suppressions and consent changes. It never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.models import Consent, ConsentEvent, Delivery, Suppression, TrackingEvent
from campaign_engine.models.types import utcnow
from campaign_engine.tracking.machine import DEFAULT_RULES, MachineRules, machine_reason

# The delivery column that keeps the first time of each kind (human opens and clicks only).
FIRST_SEEN = {
    "delivered": "delivered_at",
    "bounce": "bounced_at",
    "open": "opened_at",
    "click": "clicked_at",
    "unsubscribe": "unsubscribed_at",
    "spam_report": "complained_at",
}


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An event as a source reports it, before it is matched to its delivery."""

    delivery_id: int
    kind: str
    occurred_at: datetime
    source: str
    dedupe_key: str | None = None
    url: str | None = None
    user_agent: str = ""
    method: str = "GET"
    detail: str = ""
    machine_hint: str | None = None  # the provider already says it was a machine
    hard_bounce: bool = False  # a permanent failure: suppress the address


@dataclass
class RecordResult:
    """How many events were stored, were replays, or named no known delivery."""

    recorded: int = 0
    duplicates: int = 0
    unknown: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Target:
    delivery_id: int
    campaign_id: int
    contact_id: int
    channel: str
    variant: str
    address: str
    sent_at: datetime | None


def record_events(
    session: Session,
    events: Sequence[RawEvent],
    rules: MachineRules = DEFAULT_RULES,
) -> RecordResult:
    """Store `events` once each and apply their effects; return what happened to them."""
    result = RecordResult()
    targets = _targets(session, {event.delivery_id for event in events})
    fresh = _unseen(session, events, result)
    rows: list[dict[str, Any]] = []
    kept: list[tuple[RawEvent, _Target, bool]] = []
    for event in fresh:
        target = targets.get(event.delivery_id)
        if target is None:
            result.unknown += 1
            continue
        reason = machine_reason(
            event.kind,
            event.user_agent,
            event.method,
            event.occurred_at,
            target.sent_at,
            event.machine_hint,
            rules,
        )
        rows.append(_row(event, target, reason))
        kept.append((event, target, reason is not None))
        result.by_kind[event.kind] = result.by_kind.get(event.kind, 0) + 1
    # Checked above; a concurrent replay of the same provider event is skipped, not an error.
    write_rows(session, TrackingEvent, rows, conflict=["dedupe_key"], all_new=True)
    result.recorded = len(rows)
    _first_seen(session, kept)
    _consequences(session, kept)
    return result


def _targets(session: Session, ids: set[int]) -> dict[int, _Target]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.campaign_id,
            Delivery.contact_id,
            Delivery.channel,
            Delivery.variant,
            Delivery.address,
            Delivery.sent_at,
        ).where(key_in(session, Delivery.id, sorted(ids)))
    )
    return {row[0]: _Target(*row) for row in rows}


def _unseen(session: Session, events: Sequence[RawEvent], result: RecordResult) -> list[RawEvent]:
    keys = sorted({e.dedupe_key for e in events if e.dedupe_key is not None})
    taken: set[str] = set()
    if keys:
        taken = set(
            session.scalars(
                select(TrackingEvent.dedupe_key).where(
                    key_in(session, TrackingEvent.dedupe_key, keys)
                )
            )
        )
    fresh: list[RawEvent] = []
    for event in events:
        if event.dedupe_key is not None:
            if event.dedupe_key in taken:
                result.duplicates += 1
                continue
            taken.add(event.dedupe_key)
        fresh.append(event)
    return fresh


def _row(event: RawEvent, target: _Target, reason: str | None) -> dict[str, Any]:
    return {
        "dedupe_key": event.dedupe_key,
        "delivery_id": target.delivery_id,
        "campaign_id": target.campaign_id,
        "contact_id": target.contact_id,
        "channel": target.channel,
        "variant": target.variant,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "machine": reason is not None,
        "machine_reason": reason,
        "url": event.url,
        "detail": event.detail[:2000],
        "source": event.source,
        "created_at": utcnow(),
    }


def _first_seen(session: Session, kept: Sequence[tuple[RawEvent, _Target, bool]]) -> None:
    """Keep each delivery's earliest time per kind; a person's click implies an open."""
    earliest: dict[tuple[str, int], datetime] = {}
    for event, target, machine in kept:
        kinds = [event.kind]
        if machine and event.kind in ("open", "click"):
            continue
        if event.kind == "click":
            kinds.append("open")
        for kind in kinds:
            column = FIRST_SEEN.get(kind)
            if column is None:
                continue
            key = (column, target.delivery_id)
            if key not in earliest or event.occurred_at < earliest[key]:
                earliest[key] = event.occurred_at
    postgresql = session.get_bind().dialect.name == "postgresql"
    table = cast(Table, Delivery.__table__)
    for column in sorted({column for column, _ in earliest}):
        pairs = sorted((d, at) for (name, d), at in earliest.items() if name == column)
        if postgresql:  # one statement over arrays instead of one per delivery
            session.execute(
                text(
                    f"UPDATE deliveries SET {column} = v.at"
                    " FROM unnest(CAST(:ids AS bigint[]), CAST(:ats AS timestamptz[])) AS v(id, at)"
                    f" WHERE deliveries.id = v.id AND (deliveries.{column} IS NULL"
                    f" OR deliveries.{column} > v.at)"
                ),
                {"ids": [d for d, _ in pairs], "ats": [at for _, at in pairs]},
            )
            continue
        col = table.c[column]
        statement = (
            update(table)
            .where(table.c.id == bindparam("did"))
            .where(or_(col.is_(None), col > bindparam("at")))
            .values({column: bindparam("at")})
        )
        session.connection().execute(statement, [{"did": d, "at": at} for d, at in pairs])


def _consequences(session: Session, kept: Sequence[tuple[RawEvent, _Target, bool]]) -> None:
    for event, target, _ in kept:
        if event.kind == "bounce" and event.hard_bounce:
            suppress(session, target.channel, target.address, "hard_bounce", event.source)
        elif event.kind == "spam_report":
            suppress(session, target.channel, target.address, "spam_report", event.source)
            change_consent(
                session,
                target.contact_id,
                target.channel,
                "opted_out",
                "spam_report",
                event.occurred_at,
            )
        elif event.kind == "unsubscribe":
            change_consent(
                session,
                target.contact_id,
                target.channel,
                "opted_out",
                f"unsubscribe:{event.source}",
                event.occurred_at,
            )


def suppress(session: Session, channel: str, address: str, reason: str, source: str) -> bool:
    """Suppress an email address or phone number for good; return False when it already was."""
    kind = {"email": "email", "sms": "phone"}.get(channel)
    if kind is None or not address:
        return False
    value = address.strip().lower() if kind == "email" else address.strip()
    found = session.scalar(
        select(Suppression.id).where(Suppression.kind == kind, Suppression.value == value)
    )
    if found is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Suppression(kind=kind, value=value, reason=reason, source=source))
    except IntegrityError:  # another request suppressed it first
        return False
    return True


def change_consent(
    session: Session,
    contact_id: int,
    channel: str,
    state: str,
    source: str,
    at: datetime,
    purpose: str = "marketing",
) -> bool:
    """Set one contact's consent for a channel and purpose, with history; False if unchanged."""
    current = session.scalar(
        select(Consent).where(
            Consent.contact_id == contact_id, Consent.channel == channel, Consent.purpose == purpose
        )
    )
    if current is not None and current.state == state:
        return False
    if current is None:
        try:
            with session.begin_nested():
                session.add(
                    Consent(
                        contact_id=contact_id,
                        channel=channel,
                        purpose=purpose,
                        state=state,
                        source=source,
                        updated_at=at,
                    )
                )
        except IntegrityError:
            return change_consent(session, contact_id, channel, state, source, at, purpose)
    else:
        current.state, current.source, current.updated_at = (
            state,
            source,
            max(at, current.updated_at),
        )
    write_rows(
        session,
        ConsentEvent,
        [
            {
                "contact_id": contact_id,
                "channel": channel,
                "purpose": purpose,
                "state": state,
                "source": source,
                "occurred_at": at,
            }
        ],
        conflict=["contact_id", "channel", "purpose", "occurred_at", "state"],
    )
    session.flush()
    return True
