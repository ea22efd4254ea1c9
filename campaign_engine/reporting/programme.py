"""The whole marketing programme against the global holdout: what all campaigns together caused.

The global holdout is a fixed random share of contacts (by hash bucket) that no campaign
contacts. Comparing everyone else with it over a period, on every order placed, measures the
programme's incremental revenue, whatever attribution says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import Campaign, Contact, Delivery
from campaign_engine.reporting.outcomes import outcome_of, window_outcomes
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.scope import first_send
from campaign_engine.reporting.stats import CONFIDENCE, Estimate, OutcomeSums, incremental_effect
from campaign_engine.segments.sql import BUCKETS, bucket_expr


@dataclass(frozen=True)
class ProgrammeReport(ReportRow):
    """Contacts outside the global holdout versus those in it, over one period."""

    since: datetime
    until: datetime
    percent: float
    holdout: OutcomeSums
    rest: OutcomeSums
    holdout_messages: int  # messages sent to held-out contacts in the period (should be 0)
    rest_messages: int
    cost: float  # campaign fixed costs (first send in the period) plus messages sent in it
    conversion_lift: Estimate | None  # rest minus holdout, conversion rate
    revenue_lift: Estimate | None  # rest minus holdout, revenue per contact
    margin_lift: Estimate | None
    conversions: Estimate | None  # totals over the rest: incremental buyers
    revenue: Estimate | None
    margin: Estimate | None
    roi: Estimate | None  # (incremental margin - cost) / cost
    too_small: bool
    too_small_reason: str | None


def _check(percent: float, since: datetime, until: datetime) -> None:
    problems = []
    if not 0 < percent < 100:
        problems.append(Problem("percent", "give a holdout share above 0 and below 100"))
    if since >= until:
        problems.append(Problem("until", "the period must end after it starts"))
    if problems:
        raise InvalidInput("the programme report's options are invalid", problems)


def programme_report(
    session: Session,
    percent: float,
    salt: str,
    since: datetime,
    until: datetime,
    *,
    confidence: float = CONFIDENCE,
) -> ProgrammeReport:
    """Compare contacts outside the global holdout with those in it over [since, until).

    A contact is held out when `bucket_expr(id, "global:" + salt)` falls below `percent` of
    the buckets. Contacts created on or after `until` are left out of both groups.
    """
    _check(percent, since, until)
    held_out = bucket_expr(Contact.id.expression, f"global:{salt}") < round(percent * BUCKETS / 100)
    group = case((held_out, "holdout"), else_="rest")
    contacts = select(Contact.id.label("contact_id"), group.label("group")).where(
        Contact.created_at < until
    )
    outcomes = window_outcomes(session, contacts, since, until)
    holdout, rest = outcome_of(outcomes, "holdout"), outcome_of(outcomes, "rest")
    messages, message_cost = _messages(session, held_out, since, until)
    fixed = session.scalar(
        select(func.coalesce(func.sum(Campaign.cost), 0)).where(
            first_send() >= since, first_send() < until
        )
    )
    cost = float(fixed or 0) + message_cost
    effect = incremental_effect(rest, holdout, cost, confidence)
    return ProgrammeReport(
        since=since,
        until=until,
        percent=percent,
        holdout=holdout,
        rest=rest,
        holdout_messages=messages.get("holdout", 0),
        rest_messages=messages.get("rest", 0),
        cost=round(cost, 2),
        conversion_lift=effect.conversion_lift,
        revenue_lift=effect.revenue_lift,
        margin_lift=effect.margin_lift,
        conversions=effect.conversions,
        revenue=effect.revenue,
        margin=effect.margin,
        roi=effect.roi,
        too_small=effect.too_small,
        too_small_reason=effect.too_small_reason,
    )


def _messages(
    session: Session, held_out: ColumnElement[bool], since: datetime, until: datetime
) -> tuple[dict[str, int], float]:
    """Return messages sent in the period per group, and what all of them cost."""
    group = case((held_out, "holdout"), else_="rest")
    rows = session.execute(
        select(group, func.count(), func.sum(Delivery.cost))
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.status == "accepted", Delivery.sent_at >= since, Delivery.sent_at < until)
        .group_by(group)
    ).all()
    return {str(g): int(n) for g, n, _ in rows}, sum(float(c or 0) for _, _, c in rows)
