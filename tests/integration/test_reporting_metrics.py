"""Campaign metrics on a small hand-built campaign, checked against numbers worked out by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.models import Campaign, CampaignRun, MessageTemplate
from campaign_engine.reporting import (
    CampaignMetrics,
    MetricsRow,
    campaign_comparison,
    campaign_metrics,
    channel_performance,
    daily_series,
    to_csv,
)
from tests.report_support import DAY, NOON, Built, add_delivery, build


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
        add_delivery(session, run, template.id, built.c[1], 1, channel="email", variant="A")
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
