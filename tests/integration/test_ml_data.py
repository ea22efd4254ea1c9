"""Training and scoring frames: exact features as of the start, no leakage, the demo campaign."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.errors import InvalidInput, NotFound
from campaign_engine.ml_data import FEATURE_COLUMNS, scoring_frame, training_frame
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    ConsentEvent,
    Contact,
    Event,
    Order,
)
from campaign_engine.reporting.outcomes import window_outcomes

START = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def sessions(engine: Engine) -> Any:
    return make_session_factory(engine)


def add_orders(session: Session, rows: list[tuple[int, datetime, float, float]]) -> None:
    """Insert (contact, time, revenue, cost) orders."""
    base = len(session.scalars(select(Order.id)).all())
    session.execute(
        insert(Order),
        [
            {"external_id": f"O{base + n}", "contact_id": c, "ordered_at": at}
            | {"revenue": revenue, "cost": cost}
            for n, (c, at, revenue, cost) in enumerate(rows)
        ],
    )


def add_events(session: Session, rows: list[tuple[int, str, datetime]]) -> None:
    """Insert (contact, type, time) events."""
    base = len(session.scalars(select(Event.id)).all())
    session.execute(
        insert(Event),
        [
            {"dedupe_key": f"e{base + n}", "contact_id": c, "type": kind, "occurred_at": at}
            for n, (c, kind, at) in enumerate(rows)
        ],
    )


def small_campaign(session: Session, groups: tuple[str, ...] = ("treatment", "control")) -> int:
    """Two members with known histories; return the campaign id."""
    ann = Contact(
        external_id="ann",
        birth_date=date(1990, 6, 11),  # 36 tomorrow: 35 at the start
        gender="female",
        region="Bavaria",
        country="DE",
        household_income=50_000,
        education_level="bachelor",
        created_at=START - 400 * DAY,
    )
    bob = Contact(external_id="bob", created_at=START - 20 * DAY - timedelta(hours=1))
    campaign = Campaign(code="C1", name="C1", channel="email", started_at=START, outcome_days=7)
    session.add_all([ann, bob, campaign])
    session.flush()
    session.execute(
        insert(CampaignMember),
        [
            {"campaign_id": campaign.id, "contact_id": c.id, "group": g, "assigned_at": START}
            for c, g in zip((ann, bob), groups, strict=True)
        ],
    )
    add_orders(
        session,
        [
            (ann.id, START - 10 * DAY, 100.0, 60.0),
            (ann.id, START - 400 * DAY, 50.0, 20.0),  # before the 365 days: AOV only
            (ann.id, START + 2 * DAY, 30.0, 10.0),  # in the window: outcome
        ],
    )
    add_events(
        session,
        [
            (ann.id, "page_view", START - 5 * DAY),
            (ann.id, "page_view", START - 5 * DAY),
            (ann.id, "add_to_cart", START - timedelta(hours=1)),
            (ann.id, "search", START - 2 * DAY),
            (ann.id, "page_view", START - 100 * DAY),  # before the 90 days
        ],
    )
    session.execute(
        insert(ConsentEvent),
        [
            {"contact_id": ann.id, "channel": "email", "purpose": "marketing", "state": s}
            | {"occurred_at": at}
            for s, at in (("opted_out", START - 60 * DAY), ("opted_in", START - 30 * DAY))
        ],
    )
    return campaign.id


def test_features_and_outcomes_of_hand_built_members(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign_id = small_campaign(session)
    with sessions() as session:
        data = training_frame(session, [campaign_id], outcome="margin")
    assert list(data.X.columns) == list(FEATURE_COLUMNS)
    ann, bob = (data.X.iloc[i].to_dict() for i in (0, 1))
    assert ann == {
        "gender": "female",
        "region": "Bavaria",
        "country": "DE",
        "education_level": "bachelor",
        "ordered_before": True,
        "age": 35.0,
        "household_income": 50_000.0,
        "tenure_days": 400.0,
        "orders_before": 2,
        "recency_days": 10.0,
        "frequency_365": 1,
        "monetary_365": 100.0,
        "avg_order_value": 75.0,
        "events_90": 4,
        "page_views_90": 2,
        "product_views_90": 0,
        "add_to_cart_90": 1,
        "email_consent": "opted_in",
    }
    assert not bob["ordered_before"]
    assert (bob["orders_before"], bob["frequency_365"], bob["events_90"]) == (0, 0, 0)
    assert bob["tenure_days"] == 20.0 and bob["email_consent"] == "unknown"
    for name in ("age", "household_income", "recency_days", "avg_order_value"):
        assert math.isnan(bob[name])
    assert bob["gender"] is None and bob["country"] is None
    assert data.y.tolist() == [20.0, 0.0] and data.y.name == "margin"
    assert data.treatment.tolist() == [1, 0]
    assert data.campaign_id.tolist() == [campaign_id] * 2
    assert data.true_effect is None


def test_nothing_after_the_start_changes_a_feature(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign_id = small_campaign(session)
    with sessions() as session:
        before = training_frame(session, [campaign_id], outcome="revenue")
        ann, bob = before.contact_id.tolist()
    with transaction(sessions) as session:
        add_orders(
            session,
            [
                (ann, START, 7.0, 1.0),  # at the start: outcome, not feature
                (ann, START + DAY, 1_000_000.0, 1.0),  # the huge order the day after
                (bob, START + 6 * DAY, 40.0, 10.0),
                (bob, START + 7 * DAY, 900.0, 0.0),  # the window has closed
                (bob, START + 60 * DAY, 900.0, 0.0),
            ],
        )
        add_events(
            session,
            [
                (c, t, START + h * timedelta(hours=1))
                for c in (ann, bob)
                for t in ("page_view", "add_to_cart")
                for h in (0, 5)
            ],
        )
        session.execute(
            insert(ConsentEvent),
            [
                {
                    "contact_id": ann,
                    "channel": "email",
                    "purpose": "marketing",
                    "state": "opted_out",
                    "occurred_at": START,
                }
            ],
        )
    with sessions() as session:
        after = training_frame(session, [campaign_id], outcome="revenue")
        converted = training_frame(session, [campaign_id]).y
        scored = scoring_frame(session, [bob, ann], START)
    pd.testing.assert_frame_equal(before.X, after.X)
    pd.testing.assert_frame_equal(scored.loc[[ann, bob]].reset_index(drop=True), after.X)
    assert before.y.tolist() == [30.0, 0.0]
    assert after.y.tolist() == [1_000_037.0, 40.0]
    assert converted.tolist() == [1, 1]


def test_scoring_later_sees_the_later_history(sessions: Any) -> None:
    with transaction(sessions) as session:
        small_campaign(session)
        ann = session.scalar(select(Contact.id).where(Contact.external_id == "ann"))
    assert ann is not None
    with sessions() as session:
        frame = scoring_frame(session, [ann], START + 3 * DAY)
        with pytest.raises(NotFound):
            scoring_frame(session, [ann, ann + 1_000], START)
        empty = scoring_frame(session, [], START)
    row = frame.loc[ann]
    assert (row["orders_before"], row["recency_days"], row["monetary_365"]) == (3, 1.0, 130.0)
    assert list(empty.columns) == list(FEATURE_COLUMNS) and empty.empty


def test_campaigns_that_cannot_train_are_refused(sessions: Any) -> None:
    with transaction(sessions) as session:
        campaign_id = small_campaign(session, ("treatment", "treatment"))
        unsent = Campaign(code="C2", name="C2", channel="email")
        session.add(unsent)
        session.flush()
        unsent_id = unsent.id
    with sessions() as session:
        with pytest.raises(InvalidInput, match="no holdout members") as caught:
            training_frame(session, [campaign_id, unsent_id])
        assert "has not started" in str(caught.value)
        with pytest.raises(InvalidInput, match="unknown outcome"):
            training_frame(session, [campaign_id], outcome="clicks")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            training_frame(session, [])
        with pytest.raises(NotFound):
            training_frame(session, [unsent_id + 100])


def test_demo_campaign_frame(engine: Engine, sessions: Any) -> None:
    seed_demo(engine, contacts=3_000, seed=7, today=date(2026, 5, 1))
    with sessions() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.code == CAMPAIGN_CODE)).one()
        members = len(
            session.scalars(
                select(CampaignMember.id).where(CampaignMember.campaign_id == campaign.id)
            ).all()
        )
        data = training_frame(session, [campaign.id])
        assert campaign.started_at is not None
        groups = select(
            CampaignMember.contact_id.label("contact_id"), CampaignMember.group.label("group")
        ).where(CampaignMember.campaign_id == campaign.id)
        sums = window_outcomes(
            session,
            groups,
            campaign.started_at,
            campaign.started_at + timedelta(days=campaign.outcome_days),
        )
    assert len(data.X) == members == len(data.y) == len(data.treatment)
    assert 0.45 < data.treatment.mean() < 0.55
    treated, control = data.y[data.treatment == 1], data.y[data.treatment == 0]
    assert treated.mean() - control.mean() > 0
    assert (int(treated.sum()), int(control.sum())) == (
        sums["treatment"].buyers,
        sums["control"].buyers,
    )
    assert data.true_effect is not None and data.true_effect.mean() > 0
    assert data.X["ordered_before"].any() and (data.X["events_90"] > 0).any()

    from uplift import UpliftClassifier

    model = UpliftClassifier(learner="t", random_state=0).fit(
        data.X, data.y, treatment=data.treatment
    )
    assert model.predict(data.X).shape == (members,)
