"""Count messages and what happened to them: sent, delivered, bounced, opened, clicked, ...

Sent means accepted by the provider. The other counts are messages with the delivery's
first-seen column set (`delivered_at`, `opened_at`, ...), so each message counts at most once
and opens and clicks are people's only (tracking never sets those columns for machines). With
machine events included, opens and clicks become event totals instead: raw tracking events of
either kind plus the daily roll-ups, machine and human alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from campaign_engine.models import Delivery, TrackingDaily, TrackingEvent
from campaign_engine.reporting.scope import Key, Scope, grouped, merge
from campaign_engine.reporting.sql import utc_day

# The delivery column behind each count, in `MessageCounts` order.
OUTCOMES: dict[str, Any] = {
    "delivered": Delivery.delivered_at,
    "bounced": Delivery.bounced_at,
    "opened": Delivery.opened_at,
    "clicked": Delivery.clicked_at,
    "unsubscribed": Delivery.unsubscribed_at,
    "complained": Delivery.complained_at,
}


@dataclass(frozen=True)
class MessageCounts:
    """What happened to the messages of one report row."""

    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    complained: int = 0
    delivery_cost: float = 0.0  # what the providers charged for these messages

    @property
    def tracked(self) -> bool:
        """Return whether any receipt or response was seen for these messages."""
        return any(
            (
                self.delivered,
                self.bounced,
                self.opened,
                self.clicked,
                self.unsubscribed,
                self.complained,
            )
        )


def _delivery_key(scope: Scope, day: Any) -> ColumnElement[Any] | None:
    return scope.key(
        variant=Delivery.variant,
        channel=Delivery.channel,
        campaign=Delivery.campaign_id,
        day=utc_day(day),
    )


def _counts(values: tuple[Any, ...]) -> MessageCounts:
    """Build counts from (sent, *OUTCOMES, cost)."""
    sent, delivered, bounced, opened, clicked, unsubscribed, complained, cost = values
    return MessageCounts(
        int(sent or 0),
        int(delivered or 0),
        int(bounced or 0),
        int(opened or 0),
        int(clicked or 0),
        int(unsubscribed or 0),
        int(complained or 0),
        float(cost or 0),
    )


def message_counts(session: Session, scope: Scope) -> dict[Key, MessageCounts]:
    """Return message counts per key of the scope's breakdown."""
    if scope.group_by == "day":
        counts = _per_day(session, scope)
    else:
        stmt = select(
            func.count(), *(func.count(c) for c in OUTCOMES.values()), func.sum(Delivery.cost)
        ).where(Delivery.status == "accepted")
        stmt = scope.filter(stmt, Delivery.campaign_id, Delivery.contact_id, Delivery.sent_at)
        rows = grouped(session, stmt, _delivery_key(scope, Delivery.sent_at), day=False)
        counts = {key: _counts(values) for key, values in rows.items()}
    if scope.include_machine:
        counts = _with_event_totals(counts, event_totals(session, scope))
    return counts


def _per_day(session: Session, scope: Scope) -> dict[Key, MessageCounts]:
    """Count each outcome on the day it happened; sends and their cost on the day sent."""
    sent = select(func.count(), func.sum(Delivery.cost)).where(
        Delivery.status == "accepted", Delivery.sent_at.is_not(None)
    )
    sent = scope.filter(sent, Delivery.campaign_id, Delivery.contact_id, Delivery.sent_at)
    days: dict[Key, dict[str, Any]] = {}
    for key, (count, cost) in grouped(
        session, sent, _delivery_key(scope, Delivery.sent_at), day=True
    ).items():
        days.setdefault(key, {})
        days[key].update(sent=int(count or 0), delivery_cost=float(cost or 0))
    for name, column in OUTCOMES.items():
        stmt = select(func.count()).where(Delivery.status == "accepted", column.is_not(None))
        stmt = scope.filter(stmt, Delivery.campaign_id, Delivery.contact_id, column)
        for key, (count,) in grouped(session, stmt, _delivery_key(scope, column), True).items():
            days.setdefault(key, {})[name] = int(count or 0)
    return {key: MessageCounts(**values) for key, values in days.items()}


def event_totals(session: Session, scope: Scope) -> dict[Key, tuple[int, int]]:
    """Return (opens, clicks) event totals, machine ones included: raw events plus roll-ups.

    Roll-ups carry no contact, so a breakdown by contact set (a segment) reads raw events only.
    """
    is_day = scope.group_by == "day"
    raw = select(
        func.count().filter(TrackingEvent.kind == "open"),
        func.count().filter(TrackingEvent.kind == "click"),
    ).where(TrackingEvent.kind.in_(("open", "click")))
    raw = scope.filter(
        raw, TrackingEvent.campaign_id, TrackingEvent.contact_id, TrackingEvent.occurred_at
    )
    raw_key = scope.key(
        variant=TrackingEvent.variant,
        channel=TrackingEvent.channel,
        campaign=TrackingEvent.campaign_id,
        day=utc_day(TrackingEvent.occurred_at),
    )
    parts = [grouped(session, raw, raw_key, day=is_day)]
    if scope.contacts is None:
        daily = select(
            func.sum(TrackingDaily.events).filter(TrackingDaily.kind == "open"),
            func.sum(TrackingDaily.events).filter(TrackingDaily.kind == "click"),
        ).where(TrackingDaily.kind.in_(("open", "click")))
        daily = scope.filter(daily, TrackingDaily.campaign_id, None, None)
        if scope.since is not None:
            daily = daily.where(TrackingDaily.day >= scope.since.date())
        if scope.until is not None:
            daily = daily.where(TrackingDaily.day < scope.until.date())
        daily_key = scope.key(
            variant=TrackingDaily.variant,
            channel=TrackingDaily.channel,
            campaign=TrackingDaily.campaign_id,
            day=TrackingDaily.day,
        )
        parts.append(grouped(session, daily, daily_key, day=is_day))
    merged = merge(parts, lambda a, b: (a or 0) + (b or 0))
    return {key: (int(o or 0), int(c or 0)) for key, (o, c) in merged.items()}


def _with_event_totals(
    counts: dict[Key, MessageCounts], events: dict[Key, tuple[int, int]]
) -> dict[Key, MessageCounts]:
    result = {key: replace(base, opened=0, clicked=0) for key, base in counts.items()}
    for key, (opens, clicks) in events.items():
        result[key] = replace(result.get(key, MessageCounts()), opened=opens, clicked=clicks)
    return result
