"""Campaign ROI: the CRM golden case end to end, the demo's planted effect, the global holdout."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.errors import InvalidInput, NotFound
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    CampaignRun,
    Contact,
    Order,
    OrderAttribution,
)
from campaign_engine.reporting import campaign_roi, programme_report, to_csv
from campaign_engine.segments.sql import bucket_of

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def add_contacts(session: Session, prefix: str, count: int) -> list[int]:
    """Insert `count` bare contacts in one statement; return their ids in order."""
    session.execute(
        insert(Contact),
        [{"external_id": f"{prefix}{i:06d}", "created_at": NOON - 400 * DAY} for i in range(count)],
    )
    return list(
        session.scalars(
            select(Contact.id).where(Contact.external_id.like(f"{prefix}%")).order_by(Contact.id)
        )
    )


def add_orders(session: Session, rows: list[tuple[int, datetime, float, float]]) -> list[int]:
    """Insert (contact, time, revenue, cost) orders; return their ids in order."""
    start = session.scalar(select(func.count()).select_from(Order)) or 0
    session.execute(
        insert(Order),
        [
            {
                "external_id": f"O{start + n:07d}",
                "contact_id": contact,
                "ordered_at": at,
                "revenue": revenue,
                "cost": cost,
            }
            for n, (contact, at, revenue, cost) in enumerate(rows)
        ],
    )
    ids = select(Order.id).order_by(Order.id).offset(start)
    return list(session.scalars(ids))


def golden_campaign(session: Session) -> int:
    """CRM-REFERENCE §4.5: 10,000 treated at 3%, 10,000 held out at 2%, $40 margin, $2,500."""
    campaign = Campaign(
        code="GOLDEN", name="Golden", channel="email", cost=2_500, started_at=NOON, outcome_days=7
    )
    session.add(campaign)
    session.flush()
    treated, control = add_contacts(session, "t", 10_000), add_contacts(session, "c", 10_000)
    session.execute(
        insert(CampaignMember),
        [
            {"campaign_id": campaign.id, "contact_id": c, "group": g, "assigned_at": NOON}
            for ids, g in ((treated, "treatment"), (control, "control"))
            for c in ids
        ],
    )
    buys = [(c, NOON + 2 * DAY, 100.0, 60.0) for c in treated[:300]]
    buys += [(c, NOON + 3 * DAY, 100.0, 60.0) for c in control[:200]]
    # Outside the window: before the send, and after the seven days; neither may count.
    add_orders(session, [(c, NOON - DAY, 500.0, 0.0) for c in control[200:260]])
    add_orders(session, [(c, NOON + 8 * DAY, 500.0, 0.0) for c in treated[300:400]])
    order_ids = add_orders(session, buys)
    session.execute(
        insert(OrderAttribution),
        [
            {
                "order_id": order_id,
                "model": "last_touch",
                "campaign_id": campaign.id,
                "contact_id": contact,
                "touch": "code",
                "ordered_at": at,
                "weight": 1.0,
                "revenue": revenue,
                "margin": revenue - cost,
            }
            for order_id, (contact, at, revenue, cost) in zip(order_ids[:300], buys, strict=False)
        ],
    )
    return campaign.id


@pytest.fixture
def sessions(engine: Engine) -> Any:
    return make_session_factory(engine)


def test_crm_golden_case_end_to_end(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign_id = golden_campaign(session)
    with sessions() as session:
        roi = campaign_roi(session, campaign_id, now=NOON + 30 * DAY)
    inc, att = roi.incremental, roi.attributed
    assert (inc.treated.contacts, inc.treated.buyers) == (10_000, 300)
    assert (inc.control.contacts, inc.control.buyers) == (10_000, 200)
    assert inc.conversions is not None and inc.conversions.value == pytest.approx(100)
    assert inc.margin is not None and inc.margin.value == pytest.approx(4_000)
    assert inc.roi is not None and inc.roi.value == pytest.approx(0.60)
    assert inc.roi.low < 0.60 < inc.roi.high and inc.complete and not inc.too_small
    assert att.margin_roi == pytest.approx(3.80)  # the naive figure, on all 300 conversions
    assert att.roi == pytest.approx((30_000 - 2_500) / 2_500)
    assert roi.cost == 2_500
    assert "incremental_roi_value" in to_csv([roi]).splitlines()[0]


def test_demo_campaign_interval_covers_the_planted_effect(engine: Engine) -> None:
    seed_demo(engine, contacts=6_000, seed=11, today=date(2026, 5, 1))
    with make_session_factory(engine)() as session:
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.code == CAMPAIGN_CODE))
        assert campaign_id is not None
        truth = session.scalar(
            select(func.sum(CampaignMember.true_effect)).where(
                CampaignMember.campaign_id == campaign_id, CampaignMember.group == "treatment"
            )
        )
        roi = campaign_roi(session, campaign_id)
    conversions = roi.incremental.conversions
    assert conversions is not None and truth is not None
    assert conversions.low <= truth <= conversions.high
    assert roi.incremental.outcome_days == 30 and roi.incremental.complete


def test_treated_members_never_sent_still_count_as_treated(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign = Campaign(code="ITT", name="ITT", channel="email", cost=50)
        session.add(campaign)
        session.flush()
        session.add(CampaignRun(campaign_id=campaign.id, due_at=NOON))
        ids = add_contacts(session, "i", 6)
        for n, contact in enumerate(ids):
            group = "treatment" if n < 4 else "control"
            session.add(
                CampaignMember(
                    campaign_id=campaign.id, contact_id=contact, group=group, assigned_at=NOON
                )
            )
        add_orders(session, [(ids[0], NOON + DAY, 80.0, 30.0), (ids[4], NOON + DAY, 20.0, 5.0)])
        session.flush()
        roi = campaign_roi(session, campaign.id, now=NOON + DAY)
    inc = roi.incremental
    assert inc.window_start == NOON and not inc.complete  # the first run's due time
    assert (inc.treated.contacts, inc.treated.buyers, inc.treated.revenue) == (4, 1, 80)
    assert inc.revenue_lift is not None
    assert inc.revenue_lift.value == pytest.approx(80 / 4 - 20 / 2)
    assert inc.too_small and "holdout has 2 contacts" in (inc.too_small_reason or "")
    assert roi.attributed.purchases == 0 and roi.attributed.roi == pytest.approx(-1.0)


def test_unsent_campaign_has_no_incremental_figures(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign = Campaign(code="DRAFT", name="Draft", channel="email")
        session.add(campaign)
        session.flush()
        roi = campaign_roi(session, campaign.id)
    assert roi.incremental.roi is None and roi.incremental.too_small
    assert roi.incremental.too_small_reason == "not sent yet"
    assert roi.attributed.roi is None  # nothing spent


def test_unknown_campaign_and_model_are_refused(sessions: Any) -> None:
    with sessions() as session:
        with pytest.raises(NotFound):
            campaign_roi(session, 999)
        session.add(Campaign(code="X", name="X", channel="email"))
        session.flush()
        campaign_id = session.scalar(select(Campaign.id))
        assert campaign_id is not None
        with pytest.raises(InvalidInput):
            campaign_roi(session, campaign_id, model="u_shaped")


def test_programme_report_compares_everyone_else_with_the_global_holdout(sessions: Any) -> None:
    since, until = NOON, NOON + 28 * DAY
    with transaction(sessions) as session:
        ids = add_contacts(session, "g", 400)
        revenue = {c: float(10 + c % 7 * 15) for c in ids if c % 3 == 0}
        add_orders(session, [(c, NOON + (c % 20) * DAY, r, r / 2) for c, r in revenue.items()])
        add_orders(session, [(ids[1], NOON - DAY, 999.0, 0.0)])  # before the period
        session.add(Campaign(code="P", name="P", channel="email", cost=100, started_at=NOON))
    with sessions() as session:
        report = programme_report(session, 30, "s1", since, until)
    held = {c for c in ids if bucket_of(c, "global:s1") < 3_000}
    mean = {
        side: sum(revenue.get(c, 0.0) for c in group) / len(group)
        for side, group in (("holdout", held), ("rest", set(ids) - held))
    }
    assert report.holdout.contacts == len(held) and report.rest.contacts == 400 - len(held)
    assert report.revenue_lift is not None
    assert report.revenue_lift.value == pytest.approx(mean["rest"] - mean["holdout"])
    assert report.cost == 100 and report.holdout_messages == 0
    assert report.as_dict()["since"] == since.isoformat()


def test_programme_report_refuses_a_bad_share(sessions: Any) -> None:
    with sessions() as session, pytest.raises(InvalidInput):
        programme_report(session, 0, "s", NOON, NOON + DAY)
