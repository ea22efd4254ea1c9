"""Campaigns side by side, and channels over a period: key metrics and both ROIs per row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.models import Campaign
from campaign_engine.reporting.commerce import OrderCounts
from campaign_engine.reporting.engagement import MessageCounts
from campaign_engine.reporting.metrics import MetricsRow, slice_rows
from campaign_engine.reporting.roi import incremental_return
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.scope import Key, Scope, campaign_facts, first_send
from campaign_engine.reporting.stats import CONFIDENCE, Estimate, ratio


@dataclass(frozen=True)
class ComparisonRow(ReportRow):
    """One campaign's key metrics with its attributed and incremental ROI."""

    campaign_id: int
    code: str
    name: str
    channel: str
    type: str
    status: str
    started_at: datetime | None
    sent: int
    delivered: int
    open_rate: float | None
    click_rate: float | None
    conversion_rate: float | None
    purchases: int
    revenue: float
    margin: float
    cost: float
    attributed_roi: float | None  # (attributed revenue - cost) / cost
    attributed_margin_roi: float | None  # (attributed margin - cost) / cost
    incremental_conversions: Estimate | None
    incremental_margin: Estimate | None
    incremental_roi: Estimate | None
    too_small: bool


def find_campaigns(
    session: Session,
    *,
    status: str | None = None,
    type: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    """Return the ids of campaigns matching every filter given, most recently started first.

    `since` and `until` bound the first send; a campaign never sent matches only when
    neither is given.
    """
    start = first_send()
    stmt = select(Campaign.id)
    for column, value in (
        (Campaign.status, status),
        (Campaign.type, type),
        (Campaign.channel, channel),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(start >= since)
    if until is not None:
        stmt = stmt.where(start < until)
    return list(session.scalars(stmt.order_by(start.desc(), Campaign.id.desc())))


def campaign_comparison(
    session: Session,
    campaign_ids: Sequence[int] | None = None,
    *,
    status: str | None = None,
    type: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str = "last_touch",
    include_machine: bool = False,
    now: datetime | None = None,
    confidence: float = CONFIDENCE,
) -> list[ComparisonRow]:
    """Return a row per campaign: the ids given, in order, else those the filters find."""
    if campaign_ids is None:
        campaign_ids = find_campaigns(
            session, status=status, type=type, channel=channel, since=since, until=until
        )
    if not campaign_ids:
        return []
    facts = {f.id: f for f in campaign_facts(session, campaign_ids)}
    scope = Scope(tuple(facts), "campaign", model=model, include_machine=include_machine)

    def fixed(key: Key, sent: int) -> float:
        return facts[key].fixed_cost if key in facts else 0.0

    rows = {row.key: row for row in slice_rows(session, scope, fixed, label=str)}
    result = []
    for campaign_id in campaign_ids:
        f = facts[campaign_id]
        row = rows.get(str(campaign_id)) or _empty("campaign", str(campaign_id), f.fixed_cost)
        incremental = incremental_return(session, f, row.cost, now, confidence)
        result.append(
            ComparisonRow(
                campaign_id=f.id,
                code=f.code,
                name=f.name,
                channel=f.channel,
                type=f.type,
                status=f.status,
                started_at=f.start,
                sent=row.sent,
                delivered=row.delivered,
                open_rate=row.open_rate,
                click_rate=row.click_rate,
                conversion_rate=row.conversion_rate,
                purchases=row.purchases,
                revenue=row.revenue,
                margin=row.margin,
                cost=row.cost,
                attributed_roi=ratio(row.revenue - row.cost, row.cost),
                attributed_margin_roi=ratio(row.margin - row.cost, row.cost),
                incremental_conversions=incremental.conversions,
                incremental_margin=incremental.margin,
                incremental_roi=incremental.roi,
                too_small=incremental.too_small,
            )
        )
    return result


def _empty(dimension: str, key: str, cost: float) -> MetricsRow:
    return MetricsRow.build(dimension, key, MessageCounts(), OrderCounts(), 0, cost)


def channel_performance(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    model: str = "last_touch",
    include_machine: bool = False,
) -> list[MetricsRow]:
    """Return a metrics row per channel over [since, until), across every campaign.

    Messages count by when they were sent and orders by when they were placed; a campaign's
    fixed cost counts, under its channel, when its first send falls in the period.
    """
    fixed = _fixed_costs_by_channel(session, since, until)
    scope = Scope(None, "channel", None, since, until, model, include_machine)
    rows = slice_rows(session, scope, lambda key, sent: fixed.get(key, 0.0))
    seen = {row.key for row in rows}
    rows += [_empty("channel", c, cost) for c, cost in fixed.items() if c not in seen]
    return sorted(rows, key=lambda row: row.key or "")


def _fixed_costs_by_channel(session: Session, since: datetime, until: datetime) -> dict[Key, float]:
    start = first_send()
    rows = session.execute(
        select(Campaign.channel, func.sum(Campaign.cost))
        .where(start >= since, start < until)
        .group_by(Campaign.channel)
    )
    return {channel: float(cost or 0) for channel, cost in rows}
