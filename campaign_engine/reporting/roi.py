"""A campaign's return: attributed ROI and incremental ROI against its holdout, side by side.

Attributed ROI credits the campaign with the orders attribution gave it; incremental ROI
compares every treated member with the randomised holdout over the outcome window
(intention to treat: a treated member who was never sent still counts as treated), so it
measures what the campaign caused. docs/metrics.md works the CRM golden case through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.models import CampaignMember, Delivery, OrderAttribution
from campaign_engine.models.types import utcnow
from campaign_engine.reporting.outcomes import outcome_of, window_outcomes
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.scope import CampaignFacts, campaign_facts, check_model
from campaign_engine.reporting.stats import (
    CONFIDENCE,
    EMPTY,
    Estimate,
    IncrementalEffect,
    OutcomeSums,
    incremental_effect,
    ratio,
)


@dataclass(frozen=True)
class AttributedReturn(ReportRow):
    """What attribution credits the campaign with, and the ROI that implies."""

    model: str
    purchases: int
    buyers: int
    revenue: float
    margin: float
    cost: float
    roi: float | None  # (attributed revenue - cost) / cost
    margin_roi: float | None  # (attributed margin - cost) / cost


@dataclass(frozen=True)
class IncrementalReturn(ReportRow):
    """Treated versus holdout over the outcome window: what the campaign caused."""

    window_start: datetime | None
    window_end: datetime | None
    outcome_days: int
    complete: bool  # the window has ended
    treated: OutcomeSums
    control: OutcomeSums
    conversion_lift: Estimate | None  # difference in conversion rate
    revenue_lift: Estimate | None  # difference in revenue per contact
    margin_lift: Estimate | None  # difference in margin per contact
    conversions: Estimate | None  # incremental buyers
    revenue: Estimate | None  # incremental revenue
    margin: Estimate | None  # incremental profit before the campaign's cost
    roi: Estimate | None  # (incremental margin - cost) / cost
    too_small: bool
    too_small_reason: str | None


@dataclass(frozen=True)
class CampaignRoi(ReportRow):
    """A campaign's attributed and incremental returns on the same cost."""

    campaign_id: int
    code: str
    name: str
    fixed_cost: float
    delivery_cost: float
    cost: float
    confidence: float
    attributed: AttributedReturn
    incremental: IncrementalReturn


def campaign_cost(session: Session, facts: CampaignFacts) -> tuple[float, float]:
    """Return the campaign's (fixed cost, cost of the messages sent)."""
    sent = session.scalar(
        select(func.coalesce(func.sum(Delivery.cost), 0)).where(
            Delivery.campaign_id == facts.id, Delivery.status == "accepted"
        )
    )
    return facts.fixed_cost, float(sent or 0)


def attributed_return(
    session: Session, campaign_id: int, model: str, cost: float
) -> AttributedReturn:
    """Return the orders credited to the campaign under `model` and the ROI they imply."""
    check_model(model)
    credit = OrderAttribution
    purchases, buyers, revenue, margin = session.execute(
        select(
            func.count(),
            func.count(credit.contact_id.distinct()),
            func.coalesce(func.sum(credit.revenue), 0),
            func.coalesce(func.sum(credit.margin), 0),
        ).where(credit.campaign_id == campaign_id, credit.model == model)
    ).one()
    revenue, margin = float(revenue), float(margin)
    return AttributedReturn(
        model=model,
        purchases=int(purchases),
        buyers=int(buyers),
        revenue=round(revenue, 2),
        margin=round(margin, 2),
        cost=round(cost, 2),
        roi=ratio(revenue - cost, cost),
        margin_roi=ratio(margin - cost, cost),
    )


def incremental_return(
    session: Session,
    facts: CampaignFacts,
    cost: float,
    now: datetime | None = None,
    confidence: float = CONFIDENCE,
) -> IncrementalReturn:
    """Compare the campaign's treated members with its holdout over the outcome window."""
    days = facts.outcome_days
    if facts.start is None:
        effect = incremental_effect(EMPTY, EMPTY, cost, confidence)
        return _incremental(None, None, days, False, EMPTY, EMPTY, effect, "not sent yet")
    start, end = facts.start, facts.start + timedelta(days=days)
    members = select(
        CampaignMember.contact_id.label("contact_id"), CampaignMember.group.label("group")
    ).where(CampaignMember.campaign_id == facts.id)
    outcomes = window_outcomes(session, members, start, end)
    treated, control = outcome_of(outcomes, "treatment"), outcome_of(outcomes, "control")
    effect = incremental_effect(treated, control, cost, confidence)
    complete = end <= (now or utcnow())
    return _incremental(start, end, days, complete, treated, control, effect, None)


def _incremental(
    start: datetime | None,
    end: datetime | None,
    days: int,
    complete: bool,
    treated: OutcomeSums,
    control: OutcomeSums,
    effect: IncrementalEffect,
    reason: str | None,
) -> IncrementalReturn:
    return IncrementalReturn(
        window_start=start,
        window_end=end,
        outcome_days=days,
        complete=complete,
        treated=treated,
        control=control,
        conversion_lift=effect.conversion_lift,
        revenue_lift=effect.revenue_lift,
        margin_lift=effect.margin_lift,
        conversions=effect.conversions,
        revenue=effect.revenue,
        margin=effect.margin,
        roi=effect.roi,
        too_small=effect.too_small,
        too_small_reason=reason or effect.too_small_reason,
    )


def campaign_roi(
    session: Session,
    campaign_id: int,
    *,
    model: str = "last_touch",
    now: datetime | None = None,
    confidence: float = CONFIDENCE,
) -> CampaignRoi:
    """Return a campaign's attributed and incremental ROI over the same cost."""
    (facts,) = campaign_facts(session, [campaign_id])
    fixed, sent = campaign_cost(session, facts)
    cost = fixed + sent
    return CampaignRoi(
        campaign_id=facts.id,
        code=facts.code,
        name=facts.name,
        fixed_cost=round(fixed, 2),
        delivery_cost=round(sent, 2),
        cost=round(cost, 2),
        confidence=confidence,
        attributed=attributed_return(session, facts.id, model, cost),
        incremental=incremental_return(session, facts, cost, now, confidence),
    )
