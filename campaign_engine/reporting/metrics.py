"""Campaign metrics: engagement, rates, attributed sales and costs, in total and broken down.

Definitions and formulas: docs/metrics.md. Every rate is None when its denominator is zero,
and every engagement rate is None for a row with no tracking at all (no receipt, no response).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.models import CampaignSegment, Segment
from campaign_engine.models.types import utcnow
from campaign_engine.reporting.commerce import OrderCounts, order_counts, responders
from campaign_engine.reporting.customers import (
    ProductLeads,
    Retention,
    customer_retention,
    new_customer_retention,
    new_leads_by_product,
)
from campaign_engine.reporting.engagement import MessageCounts, message_counts
from campaign_engine.reporting.rows import ReportRow, Scalar
from campaign_engine.reporting.scope import CampaignFacts, Grouping, Key, Scope, campaign_facts
from campaign_engine.reporting.stats import ratio
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import members_select


@dataclass(frozen=True)
class MetricsRow(ReportRow):
    """The metrics of one slice of a campaign: all of it, a variant, a channel, a segment, a day."""

    dimension: str  # total, variant, channel, segment, day, campaign
    key: str | None  # the variant, channel, segment name, ISO day or campaign code
    sent: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    unsubscribed: int
    complained: int
    delivered_rate: float | None  # delivered / sent
    bounce_rate: float | None  # bounced / sent
    open_rate: float | None  # opened / delivered
    click_rate: float | None  # clicked / delivered
    click_to_open_rate: float | None  # clicked / opened
    unsubscribe_rate: float | None  # unsubscribed / delivered
    complaint_rate: float | None  # complained / delivered
    responses: int  # contacts who clicked or bought (attributed)
    purchases: int  # attributed orders
    buyers: int
    revenue: float
    margin: float
    cost: float  # message costs plus this slice's share of the fixed cost
    interactions: int  # opened + clicked + purchases
    cost_per_interaction: float | None
    conversion_rate: float | None  # buyers / delivered
    average_order_value: float | None  # revenue / credited orders (weights summed)
    revenue_per_recipient: float | None  # revenue / sent
    new_customers: int
    acquisition_cost: float | None  # CAC: cost / new customers

    @classmethod
    def build(
        cls,
        dimension: str,
        key: str | None,
        messages: MessageCounts,
        orders: OrderCounts,
        responses: int,
        cost: float,
    ) -> MetricsRow:
        """Compute a row's rates and ratios from its counts."""
        m, tracked = messages, messages.tracked

        def rate(numerator: int, denominator: int) -> float | None:
            return ratio(numerator, denominator) if tracked else None

        interactions = m.opened + m.clicked + orders.purchases
        return cls(
            dimension=dimension,
            key=key,
            sent=m.sent,
            delivered=m.delivered,
            bounced=m.bounced,
            opened=m.opened,
            clicked=m.clicked,
            unsubscribed=m.unsubscribed,
            complained=m.complained,
            delivered_rate=rate(m.delivered, m.sent),
            bounce_rate=rate(m.bounced, m.sent),
            open_rate=rate(m.opened, m.delivered),
            click_rate=rate(m.clicked, m.delivered),
            click_to_open_rate=rate(m.clicked, m.opened),
            unsubscribe_rate=rate(m.unsubscribed, m.delivered),
            complaint_rate=rate(m.complained, m.delivered),
            responses=responses,
            purchases=orders.purchases,
            buyers=orders.buyers,
            revenue=round(orders.revenue, 2),
            margin=round(orders.margin, 2),
            cost=round(cost, 2),
            interactions=interactions,
            cost_per_interaction=ratio(cost, interactions),
            conversion_rate=ratio(orders.buyers, m.delivered),
            average_order_value=ratio(orders.revenue, orders.credit),
            revenue_per_recipient=ratio(orders.revenue, m.sent),
            new_customers=orders.new_customers,
            acquisition_cost=ratio(cost, orders.new_customers),
        )


@dataclass(frozen=True)
class CampaignMetrics(ReportRow):
    """A campaign's metrics: totals, customer figures and the breakdowns."""

    campaign_id: int
    code: str
    name: str
    channel: str
    model: str
    include_machine: bool
    started_at: datetime | None
    fixed_cost: float
    totals: MetricsRow
    new_customer_retention: Retention
    customer_retention: Retention
    new_leads_by_product: list[ProductLeads]
    by_variant: list[MetricsRow]
    by_channel: list[MetricsRow]
    by_segment: list[MetricsRow]
    by_day: list[MetricsRow]

    def csv_rows(self) -> list[dict[str, Scalar]]:
        """Return the totals and every breakdown row as flat CSV rows (column `dimension`)."""
        rows = [self.totals, *self.by_variant, *self.by_channel, *self.by_segment, *self.by_day]
        head: dict[str, Scalar] = {
            "campaign_id": self.campaign_id,
            "code": self.code,
            "model": self.model,
        }
        return [head | row.csv_row() for row in rows]


FixedShare = Callable[[Key, int], float]  # (row key, messages sent in it) -> its fixed cost


def shared_by_sends(fixed_cost: float, total_sent: int, whole: bool) -> FixedShare:
    """Return a fixed-cost split in proportion to messages sent (all of it to a `whole` row)."""

    def share(key: Key, sent: int) -> float:
        if total_sent:
            return fixed_cost * sent / total_sent
        return fixed_cost if whole else 0.0

    return share


def slice_rows(
    session: Session, scope: Scope, fixed: FixedShare, label: Callable[[Key], str] = str
) -> list[MetricsRow]:
    """Return one metrics row per key of the scope's breakdown, sorted by key.

    Each row's cost is its messages' cost plus its share of fixed costs (`fixed`).
    """
    messages = message_counts(session, scope)
    orders = order_counts(session, scope)
    responses = responders(session, scope)
    keys = sorted(set(messages) | set(orders) | set(responses), key=_sort_key)
    rows = []
    for key in keys:
        m = messages.get(key, MessageCounts())
        rows.append(
            MetricsRow.build(
                scope.group_by,
                None if key is None else label(key),
                m,
                orders.get(key, OrderCounts()),
                responses.get(key, 0),
                m.delivery_cost + fixed(key, m.sent),
            )
        )
    return rows


def _sort_key(key: Key) -> tuple[int, str]:
    return (key is not None, key.isoformat() if isinstance(key, date) else str(key))


def _day_label(key: Key) -> str:
    return str(key.isoformat())


def campaign_metrics(
    session: Session,
    campaign_id: int,
    *,
    model: str = "last_touch",
    include_machine: bool = False,
    retention_days: int = 90,
    breakdowns: bool = True,
) -> CampaignMetrics:
    """Return a campaign's metrics with breakdowns by variant, channel, segment and day."""
    (facts,) = campaign_facts(session, [campaign_id])
    base = Scope(campaign_ids=(campaign_id,), model=model, include_machine=include_machine)
    (totals,) = slice_rows(session, base, lambda key, sent: facts.fixed_cost)
    sent = totals.sent
    split = shared_by_sends(facts.fixed_cost, sent, whole=False)

    def by(group: Grouping, label: Callable[[Key], str] = str) -> list[MetricsRow]:
        if not breakdowns:
            return []
        return slice_rows(session, replace(base, group_by=group), split, label)

    return CampaignMetrics(
        campaign_id=facts.id,
        code=facts.code,
        name=facts.name,
        channel=facts.channel,
        model=model,
        include_machine=include_machine,
        started_at=facts.start,
        fixed_cost=facts.fixed_cost,
        totals=totals,
        new_customer_retention=new_customer_retention(session, facts.id, model, retention_days),
        customer_retention=customer_retention(session, facts.id, facts.start, facts.outcome_days),
        new_leads_by_product=new_leads_by_product(session, campaign_id, model),
        by_variant=by("variant"),
        by_channel=by("channel"),
        by_segment=segment_rows(session, facts, base, sent) if breakdowns else [],
        by_day=by("day", _day_label),
    )


def segment_rows(
    session: Session, facts: CampaignFacts, base: Scope, total_sent: int
) -> list[MetricsRow]:
    """Return a row per segment the campaign targets; a contact counts in each of its segments.

    Membership is evaluated as of the campaign's first send (now, if it never sent).
    """
    segments = session.execute(
        select(Segment.name, Segment.definition)
        .join(CampaignSegment, CampaignSegment.segment_id == Segment.id)
        .where(CampaignSegment.campaign_id == facts.id, CampaignSegment.exclude.is_(False))
        .order_by(Segment.name)
    ).all()
    rows = []
    for name, definition in segments:
        members = members_select(session, parse_definition(definition), facts.start or utcnow())
        scope = replace(base, contacts=members)
        (row,) = slice_rows(session, scope, shared_by_sends(facts.fixed_cost, total_sent, True))
        rows.append(replace(row, dimension="segment", key=name))
    return rows
