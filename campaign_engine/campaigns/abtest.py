"""A/B tests: after the test period, pick the winning variant and send it to the rest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from campaign_engine.models import (
    Campaign,
    CampaignMember,
    CampaignRun,
    Delivery,
    OrderAttribution,
    TargetList,
    TargetListMember,
)

# metric name → (session, campaign id, variant) → value, higher is better. Engagement counts
# people (first human open or click, kept on each delivery by tracking), over messages sent;
# conversions and revenue are last-touch attributed orders.
Metric = Callable[[Session, int, str], float | None]


def accepted_rate(session: Session, campaign_id: int, variant: str) -> float | None:
    """Return the share of a variant's messages the providers accepted."""
    total, accepted = session.execute(
        select(func.count(), func.count().filter(Delivery.status == "accepted")).where(
            Delivery.campaign_id == campaign_id, Delivery.variant == variant
        )
    ).one()
    return accepted / total if total else None


def _sent(session: Session, campaign_id: int, variant: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Delivery.campaign_id == campaign_id,
                Delivery.variant == variant,
                Delivery.status == "accepted",
            )
        )
        or 0
    )


def _engaged_rate(column: Any) -> Metric:
    def rate(session: Session, campaign_id: int, variant: str) -> float | None:
        sent = _sent(session, campaign_id, variant)
        engaged = session.scalar(
            select(func.count()).where(
                Delivery.campaign_id == campaign_id,
                Delivery.variant == variant,
                Delivery.status == "accepted",
                column.is_not(None),
            )
        )
        return (engaged or 0) / sent if sent else None

    return rate


def _attributed(session: Session, campaign_id: int, variant: str) -> tuple[int, float]:
    buyers, revenue = session.execute(
        select(
            func.count(OrderAttribution.contact_id.distinct()),
            func.coalesce(func.sum(OrderAttribution.revenue), 0),
        )
        .join(Delivery, Delivery.id == OrderAttribution.delivery_id)
        .where(
            OrderAttribution.campaign_id == campaign_id,
            OrderAttribution.model == "last_touch",
            Delivery.variant == variant,
        )
    ).one()
    return int(buyers), float(revenue)


def conversion_rate(session: Session, campaign_id: int, variant: str) -> float | None:
    """Return the share of a variant's recipients with a last-touch attributed order."""
    sent = _sent(session, campaign_id, variant)
    return _attributed(session, campaign_id, variant)[0] / sent if sent else None


def revenue_per_recipient(session: Session, campaign_id: int, variant: str) -> float | None:
    """Return a variant's last-touch attributed revenue per message sent."""
    sent = _sent(session, campaign_id, variant)
    return _attributed(session, campaign_id, variant)[1] / sent if sent else None


METRICS: dict[str, Metric] = {
    "accepted_rate": accepted_rate,
    "open_rate": _engaged_rate(Delivery.opened_at),
    "click_rate": _engaged_rate(Delivery.clicked_at),
    "conversion_rate": conversion_rate,
    "revenue": revenue_per_recipient,
}


def pick_winner(session: Session, campaign: Campaign) -> tuple[str, str, dict[str, float | None]]:
    """Return the winning variant, the metric that decided, and every variant's value."""
    metric_name = campaign.winner_metric or "accepted_rate"
    if metric_name not in METRICS:
        metric_name = "accepted_rate"
    metric = METRICS[metric_name]
    variants = session.scalars(
        select(CampaignMember.variant)
        .where(CampaignMember.campaign_id == campaign.id, CampaignMember.variant.is_not(None))
        .distinct()
    ).all()
    values = {str(v): metric(session, campaign.id, str(v)) for v in variants}
    ranked = sorted(values, key=lambda v: (values[v] is not None, values[v] or 0.0, -ord(v[0])))
    return (ranked[-1] if ranked else "A"), metric_name, values


def choose_winners(session: Session, now: datetime) -> list[int]:
    """Start a winner run for every A/B test whose test period has ended; return the run ids."""
    started: list[int] = []
    campaigns = session.scalars(
        select(Campaign).where(
            Campaign.status == "running",
            Campaign.ab_test_hours.is_not(None),
            Campaign.winner_variant.is_(None),
        )
    ).all()
    for campaign in campaigns:
        assert campaign.ab_test_hours is not None
        first = session.scalar(
            select(func.min(CampaignRun.due_at)).where(
                CampaignRun.campaign_id == campaign.id, CampaignRun.kind == "scheduled"
            )
        )
        if first is None or first + timedelta(hours=campaign.ab_test_hours) > now:
            continue
        winner, _, _ = pick_winner(session, campaign)
        claimed = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id, Campaign.winner_variant.is_(None))
            .values(winner_variant=winner)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        started.append(_winner_run(session, campaign, winner, now))
    return started


def _winner_run(session: Session, campaign: Campaign, winner: str, now: datetime) -> int:
    waiting = (
        select(CampaignMember.contact_id)
        .where(CampaignMember.campaign_id == campaign.id, CampaignMember.group == "treatment")
        .where(CampaignMember.variant.is_(None))
    )
    target = TargetList(name=f"{campaign.code} winner {winner}", kind="static", size=0)
    session.add(target)
    session.flush()
    ranked = waiting.add_columns(
        func.row_number().over(order_by=CampaignMember.contact_id), literal(target.id)
    )
    session.execute(
        insert(TargetListMember).from_select(["contact_id", "position", "list_id"], ranked)
    )
    target.size = (
        session.scalar(select(func.count()).where(TargetListMember.list_id == target.id)) or 0
    )
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.campaign_id == campaign.id, CampaignMember.group == "treatment")
        .where(CampaignMember.variant.is_(None))
        .values(variant=winner)
    )
    run = CampaignRun(
        campaign_id=campaign.id, due_at=now, kind="winner", status="due", target_list_id=target.id
    )
    session.add(run)
    session.flush()
    return run.id
