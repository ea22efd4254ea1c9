"""Test support for reports: a small campaign built by hand, whose every metric is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from campaign_engine.models import (
    Campaign,
    CampaignMember,
    CampaignRun,
    CampaignSegment,
    Delivery,
    MessageTemplate,
    Order,
    OrderAttribution,
    Segment,
    TrackingDaily,
    TrackingEvent,
)
from tests.factories import make_contact, make_order, make_product

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
EVERYONE = {"version": 1, "root": {"type": "attribute", "field": "external_id", "op": "is_set"}}
LEEDS = {
    "version": 1,
    "root": {"type": "attribute", "field": "city", "op": "eq", "value": "Leeds"},
}


@dataclass(frozen=True)
class Built:
    """The hand-built campaign's id and its contacts, c[1]..c[8]."""

    campaign_id: int
    c: dict[int, int]


def add_delivery(
    session: Session, run: CampaignRun, template: int, contact: int, n: int, **fields: Any
) -> Delivery:
    values: dict[str, Any] = {
        "key": f"test:{run.id}:{n}",
        "run_id": run.id,
        "campaign_id": run.campaign_id,
        "contact_id": contact,
        "template_id": template,
        "address": f"c{contact}@example.com",
        "status": "accepted",
        "planned_at": NOON,
        "not_before": NOON,
        "sent_at": NOON,
        "cost": 0.5,
    }
    delivery = Delivery(**(values | fields))
    session.add(delivery)
    session.flush()
    return delivery


def _credit(order: Order, delivery: Delivery, margin: float, **fields: Any) -> OrderAttribution:
    values: dict[str, Any] = {
        "order_id": order.id,
        "model": "last_touch",
        "campaign_id": delivery.campaign_id,
        "delivery_id": delivery.id,
        "contact_id": order.contact_id,
        "touch": "click",
        "ordered_at": order.ordered_at,
        "weight": 1.0,
        "revenue": order.revenue,
        "margin": margin,
    }
    return OrderAttribution(**(values | fields))


def build(session: Session) -> Built:
    """Build the hand-checked campaign: six treated contacts sent to, two held out.

    The six got email or SMS, variant A or B; tests/integration/test_reporting_metrics.py
    works out every figure by hand.
    """
    c = {i: make_contact(session, city="Leeds" if i in (1, 6) else "York").id for i in range(1, 9)}
    campaign = Campaign(
        code="T1", name="Test", channel="email", cost=100, started_at=NOON, outcome_days=7
    )
    template = MessageTemplate(name="t", channel="email", subject="s", html="<p>x</p>")
    session.add_all([campaign, template])
    session.flush()
    for name, definition in (("everyone", EVERYONE), ("leeds", LEEDS)):
        segment = Segment(name=name, definition=definition)
        session.add(segment)
        session.flush()
        session.add(CampaignSegment(campaign_id=campaign.id, segment_id=segment.id))
    run = CampaignRun(campaign_id=campaign.id, due_at=NOON, status="completed")
    session.add(run)
    session.flush()
    for i in range(1, 9):
        group = "treatment" if i <= 6 else "control"
        session.add(
            CampaignMember(campaign_id=campaign.id, contact_id=c[i], group=group, assigned_at=NOON)
        )
    at = NOON + timedelta(minutes=1)
    t, r = template.id, run
    d1 = add_delivery(
        session, r, t, c[1], 1, channel="email", variant="A", delivered_at=at, opened_at=at,
        clicked_at=at,
    )  # fmt: skip
    d2 = add_delivery(
        session, r, t, c[2], 2, channel="email", variant="A", delivered_at=at, opened_at=at
    )
    d3 = add_delivery(
        session, r, t, c[3], 3, channel="email", variant="B", delivered_at=at, complained_at=at
    )
    add_delivery(session, r, t, c[4], 4, channel="email", variant="B", bounced_at=at)
    add_delivery(
        session, r, t, c[5], 5, channel="sms", variant="A", delivered_at=at, unsubscribed_at=at
    )
    d6 = add_delivery(
        session, r, t, c[6], 6, channel="sms", variant="B", delivered_at=at + DAY,
        clicked_at=at + DAY,
    )  # fmt: skip
    add_delivery(session, r, t, c[5], 7, channel="email", variant="A", status="failed", cost=0)
    _events(session, campaign.id, d1, d3)
    p1 = make_product(session, "P1", "One", 40, unit_cost=20)
    p2 = make_product(session, "P2", "Two", 60, unit_cost=40)
    make_order(session, c[1], NOON - 30 * DAY, [(p1, 1)])
    make_order(session, c[3], NOON - 10 * DAY, [(p1, 1)])
    o1 = make_order(session, c[1], NOON + timedelta(hours=2), [(p1, 1), (p2, 1)])
    o2 = make_order(session, c[2], NOON + DAY, [(p1, 1)])
    make_order(session, c[2], NOON + 20 * DAY, [(p1, 1)])
    o3 = make_order(session, c[6], NOON + DAY + timedelta(hours=1), [(p2, 1)])
    session.add_all(
        [
            _credit(o1, d1, 40),
            _credit(o2, d2, 20, touch="open"),
            _credit(o3, d6, 20),
            _credit(o1, d1, 40, model="first_touch"),
            _credit(o1, d1, 20, model="linear", weight=0.5, revenue=50),
        ]
    )
    session.flush()
    return Built(campaign.id, c)


def _events(session: Session, campaign_id: int, d1: Delivery, d3: Delivery) -> None:
    def event(d: Delivery, kind: str, machine: bool, seconds: int) -> TrackingEvent:
        return TrackingEvent(
            delivery_id=d.id,
            campaign_id=campaign_id,
            contact_id=d.contact_id,
            channel=d.channel,
            variant=d.variant,
            kind=kind,
            occurred_at=NOON + timedelta(seconds=seconds),
            machine=machine,
            source="test",
        )

    def daily(kind: str, machine: bool, events: int) -> TrackingDaily:
        return TrackingDaily(
            day=date(2026, 6, 10),
            campaign_id=campaign_id,
            variant="A",
            channel="email",
            kind=kind,
            machine=machine,
            events=events,
        )

    session.add_all(
        [
            event(d1, "open", False, 3600),
            event(d3, "open", True, 1),
            event(d1, "click", True, 2),
            daily("open", True, 3),
            daily("click", False, 1),
        ]
    )
