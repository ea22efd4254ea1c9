"""Daily series for charts: sends, opens, clicks, purchases and revenue per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from campaign_engine.reporting.commerce import OrderCounts, order_counts
from campaign_engine.reporting.engagement import MessageCounts, message_counts
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.scope import Scope

MAX_DAYS = 3660


@dataclass(frozen=True)
class DailyPoint(ReportRow):
    """What happened on one UTC day: each thing counted on the day it happened."""

    day: date
    sent: int
    delivered: int
    opened: int
    clicked: int
    purchases: int
    revenue: float


def daily_series(
    session: Session,
    campaign_id: int | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str = "last_touch",
    include_machine: bool = False,
) -> list[DailyPoint]:
    """Return one point per day from the first to the last day with activity, gaps as zeros.

    For one campaign, or every campaign when `campaign_id` is None; `since` and `until`
    bound the days (and, when given, the series starts and ends with them).
    """
    ids = None if campaign_id is None else (campaign_id,)
    scope = Scope(ids, "day", None, since, until, model, include_machine)
    messages = message_counts(session, scope)
    orders = order_counts(session, scope)
    days = [d for d in {*messages, *orders} if d is not None]
    if since is not None:
        days.append(since.date())
    if until is not None:
        days.append((until - timedelta(microseconds=1)).date())
    if not days:
        return []
    first, last = min(days), max(days)
    last = min(last, first + timedelta(days=MAX_DAYS))
    points = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        m, o = messages.get(day, MessageCounts()), orders.get(day, OrderCounts())
        revenue = round(o.revenue, 2)
        points.append(
            DailyPoint(day, m.sent, m.delivered, m.opened, m.clicked, o.purchases, revenue)
        )
    return points
