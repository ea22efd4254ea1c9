"""Campaign metrics on a small hand-built campaign, checked against numbers worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory, transaction
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
from campaign_engine.reporting import (
    CampaignMetrics,
    MetricsRow,
    campaign_comparison,
    campaign_metrics,
    channel_performance,
    daily_series,
    to_csv,
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


def _delivery(
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
    """Six treated contacts sent to (email and SMS, variants A and B), two held out."""
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
    d1 = _delivery(
        session, r, t, c[1], 1, channel="email", variant="A", delivered_at=at, opened_at=at,
        clicked_at=at,
    )  # fmt: skip
    d2 = _delivery(
        session, r, t, c[2], 2, channel="email", variant="A", delivered_at=at, opened_at=at
    )
    d3 = _delivery(
        session, r, t, c[3], 3, channel="email", variant="B", delivered_at=at, complained_at=at
    )
    _delivery(session, r, t, c[4], 4, channel="email", variant="B", bounced_at=at)
    _delivery(
        session, r, t, c[5], 5, channel="sms", variant="A", delivered_at=at, unsubscribed_at=at
    )
    d6 = _delivery(
        session, r, t, c[6], 6, channel="sms", variant="B", delivered_at=at + DAY,
        clicked_at=at + DAY,
    )  # fmt: skip
    _delivery(session, r, t, c[5], 7, channel="email", variant="A", status="failed", cost=0)
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


@pytest.fixture
def sessions(engine: Engine) -> Any:
    return make_session_factory(engine)


@pytest.fixture
def built(sessions: Any) -> Built:
    with transaction(sessions) as session:
        return build(session)


def metrics(sessions: Any, built: Built, **options: Any) -> CampaignMetrics:
    with sessions() as session:
        return campaign_metrics(session, built.campaign_id, **options)


def by_key(rows: list[MetricsRow]) -> dict[str | None, MetricsRow]:
    return {row.key: row for row in rows}


def test_totals_match_the_hand_count(sessions: Any, built: Built) -> None:
    t = metrics(sessions, built).totals
    assert (t.sent, t.delivered, t.bounced, t.opened, t.clicked) == (6, 5, 1, 2, 2)
    assert (t.unsubscribed, t.complained) == (1, 1)
    assert t.delivered_rate == pytest.approx(5 / 6)
    assert t.bounce_rate == pytest.approx(1 / 6)
    assert t.open_rate == pytest.approx(2 / 5)
    assert t.click_rate == pytest.approx(2 / 5)
    assert t.click_to_open_rate == pytest.approx(1.0)
    assert t.unsubscribe_rate == pytest.approx(1 / 5)
    assert t.complaint_rate == pytest.approx(1 / 5)


def test_attributed_sales_and_costs_match_the_hand_count(sessions: Any, built: Built) -> None:
    t = metrics(sessions, built).totals
    assert (t.purchases, t.buyers, t.responses, t.new_customers) == (3, 3, 3, 2)
    assert (t.revenue, t.margin, t.cost) == (200, 80, 103)
    assert t.interactions == 2 + 2 + 3
    assert t.cost_per_interaction == pytest.approx(103 / 7)
    assert t.conversion_rate == pytest.approx(3 / 5)
    assert t.average_order_value == pytest.approx(200 / 3)
    assert t.revenue_per_recipient == pytest.approx(200 / 6)
    assert t.acquisition_cost == pytest.approx(103 / 2)


def test_customer_figures_match_the_hand_count(sessions: Any, built: Built) -> None:
    m = metrics(sessions, built)
    assert (m.new_customer_retention.base, m.new_customer_retention.retained) == (2, 1)
    assert m.new_customer_retention.rate == pytest.approx(0.5)
    assert (m.customer_retention.base, m.customer_retention.retained) == (2, 1)
    assert [(p.sku, p.leads) for p in m.new_leads_by_product] == [("P2", 2), ("P1", 1)]
    shorter = metrics(sessions, built, retention_days=10).new_customer_retention
    assert shorter.retained == 0


def test_breakdowns_by_variant_and_channel(sessions: Any, built: Built) -> None:
    m = metrics(sessions, built)
    a, b = by_key(m.by_variant)["A"], by_key(m.by_variant)["B"]
    assert (a.sent, a.delivered, a.opened, a.clicked, a.unsubscribed) == (3, 3, 2, 1, 1)
    assert (b.sent, b.delivered, b.bounced, b.clicked, b.complained) == (3, 2, 1, 1, 1)
    assert (a.purchases, a.revenue, b.purchases, b.revenue) == (2, 140, 1, 60)
    assert a.cost == b.cost == pytest.approx(1.5 + 50)
    email, sms = by_key(m.by_channel)["email"], by_key(m.by_channel)["sms"]
    assert (email.sent, email.purchases, sms.sent, sms.purchases) == (4, 2, 2, 1)


def test_breakdown_by_segment_counts_contacts_in_each_of_their_segments(
    sessions: Any, built: Built
) -> None:
    segments = by_key(metrics(sessions, built).by_segment)
    assert segments["everyone"].sent == 6 and segments["everyone"].revenue == 200
    leeds = segments["leeds"]
    assert (leeds.sent, leeds.delivered, leeds.opened, leeds.clicked) == (2, 2, 1, 2)
    assert (leeds.purchases, leeds.revenue, leeds.responses) == (2, 160, 2)
    assert leeds.cost == pytest.approx(1.0 + 100 * 2 / 6, abs=0.005)


def test_breakdown_by_day_counts_each_thing_on_its_day(sessions: Any, built: Built) -> None:
    days = by_key(metrics(sessions, built).by_day)
    first, second = days["2026-06-10"], days["2026-06-11"]
    assert (first.sent, first.delivered, first.opened, first.clicked) == (6, 4, 2, 1)
    assert (second.sent, second.delivered, second.clicked) == (0, 1, 1)
    assert (first.purchases, second.purchases, second.revenue) == (1, 2, 100)


def test_daily_series_fills_gaps_with_zeros(sessions: Any, built: Built) -> None:
    with sessions() as session:
        series = daily_series(session, built.campaign_id, since=NOON - DAY, until=NOON + 3 * DAY)
    assert [p.day for p in series] == [date(2026, 6, d) for d in (9, 10, 11, 12, 13)]
    assert [p.sent for p in series] == [0, 6, 0, 0, 0]
    assert [p.purchases for p in series] == [0, 1, 2, 0, 0]


def test_machine_events_are_left_out_by_default_and_counted_on_request(
    sessions: Any, built: Built
) -> None:
    default = metrics(sessions, built).totals
    everything = metrics(sessions, built, include_machine=True)
    # Raw: one human and one machine open, one machine click; roll-ups: 3 opens, 1 click.
    assert (default.opened, default.clicked) == (2, 2)
    assert (everything.totals.opened, everything.totals.clicked) == (2 + 3, 1 + 1)
    assert everything.totals.delivered == default.delivered
    assert by_key(everything.by_variant)["A"].opened == 1 + 3


def test_attribution_model_is_selectable(sessions: Any, built: Built) -> None:
    first = metrics(sessions, built, model="first_touch").totals
    linear = metrics(sessions, built, model="linear").totals
    assert (first.purchases, first.revenue) == (1, 100)
    assert (linear.purchases, linear.revenue, linear.average_order_value) == (1, 50, 100)


def test_campaign_without_tracking_has_no_rates(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign = Campaign(code="QUIET", name="Quiet", channel="email", cost=10)
        session.add(campaign)
        session.flush()
        result = campaign_metrics(session, campaign.id)
    t = result.totals
    assert t.sent == 0 and t.cost == 10
    rates = (t.delivered_rate, t.open_rate, t.click_rate, t.conversion_rate, t.acquisition_cost)
    assert rates == (None, None, None, None, None)
    assert result.customer_retention.rate is None and result.by_day == []


def test_sent_but_untracked_campaign_has_no_engagement_rates(sessions: Any, built: Built) -> None:
    with transaction(sessions) as session:
        campaign = Campaign(code="DARK", name="Dark", channel="email", started_at=NOON)
        session.add(campaign)
        session.flush()
        run = CampaignRun(campaign_id=campaign.id, due_at=NOON)
        session.add(run)
        session.flush()
        template = session.scalars(select(MessageTemplate)).one()
        _delivery(session, run, template.id, built.c[1], 1, channel="email", variant="A")
        t = campaign_metrics(session, campaign.id).totals
    assert t.sent == 1 and t.delivered_rate is None and t.bounce_rate is None


def test_rows_export_as_json_and_csv(sessions: Any, built: Built) -> None:
    m = metrics(sessions, built)
    assert m.as_dict()["totals"]["sent"] == 6
    rows = m.csv_rows()
    assert {row["dimension"] for row in rows} == {"total", "variant", "channel", "segment", "day"}
    text = to_csv(rows)
    assert text.startswith("campaign_id,code,model,dimension,key,sent,")


def test_comparison_and_channel_rows(sessions: Any, built: Built) -> None:
    with sessions() as session:
        (row,) = campaign_comparison(session, [built.campaign_id])
        found = campaign_comparison(session, channel="email", since=NOON - DAY)
        channels = by_key(channel_performance(session, NOON - DAY, NOON + 10 * DAY))
    assert (row.sent, row.purchases, row.revenue, row.cost) == (6, 3, 200, 103)
    assert row.attributed_roi == pytest.approx((200 - 103) / 103)
    assert row.too_small  # two held-out contacts
    assert [r.campaign_id for r in found] == [built.campaign_id]
    assert channels["email"].sent == 4 and channels["email"].cost == pytest.approx(2 + 100)
    assert channels["sms"].purchases == 1
