"""The documented example segments run on the demo store and find who they promise."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.demo import seed_demo
from campaign_engine.models import (
    Consent,
    Contact,
    ContactTraits,
    Order,
    OrderLine,
    Product,
    Segment,
    UpliftScore,
)
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.examples import EXAMPLES, models_needed, save_examples
from campaign_engine.segments.service import evaluate_segment, members_select
from campaign_engine.traits.refresh import refresh_traits
from tests.factories import make_uplift_model

TODAY = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_examples_find_their_audiences_on_the_demo_store(engine: Engine) -> None:
    seed_demo(engine, contacts=3000, seed=7, today=TODAY)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        refresh_traits(session, TODAY)
        waiting = [name for name, (_, d) in EXAMPLES.items() if models_needed(d)]
        assert waiting == ["Persuadable by the demo offer (top 20% by uplift)"]
        assert save_examples(session) == len(EXAMPLES) - 1  # the uplift one waits for its model
        score_everyone(session, "demo-offer")
        assert save_examples(session) == 1
        assert save_examples(session) == 0  # idempotent
        segments = {s.name: s for s in session.scalars(select(Segment))}
        members = {
            name: set(session.scalars(members_select(session, parse_definition(s.definition), NOW)))
            for name, s in segments.items()
        }
        for name, segment in segments.items():
            assert evaluate_segment(session, segment.id, NOW) == len(members[name]) > 0, name

        gap = members["Software buyers who never bought a computer"]
        computer_buyers = set(
            session.scalars(
                select(Order.contact_id)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Product, Product.id == OrderLine.product_id)
                .where(Product.category == "computers")
            )
        )
        assert not gap & computer_buyers
        personas = dict(
            session.execute(select(Contact.id, Contact.attributes["persona"].as_string())).all()
        )
        assert sum(personas[c] == "category_gap" for c in gap) > len(gap) / 4

        champions = members["Best customers (RFM champions)"]
        groups = dict(
            session.execute(select(ContactTraits.contact_id, ContactTraits.rfm_group)).all()
        )
        assert {groups[c] for c in champions} == {"champions"}

        generator = members["List generator: affluent graduates aged 30-55"]
        rows = session.execute(
            select(Contact.household_income, Contact.education_level, Contact.birth_date).where(
                Contact.id.in_(generator)
            )
        )
        persuadable = members["Persuadable by the demo offer (top 20% by uplift)"]
        scored = dict(
            session.execute(
                select(UpliftScore.contact_id, UpliftScore.percentile).where(
                    UpliftScore.contact_id.in_(persuadable)
                )
            ).all()
        )
        assert set(scored) == persuadable and max(scored.values()) < 0.2
        opted_in = session.scalars(
            select(Consent.contact_id).where(
                Consent.channel == "email", Consent.state == "opted_in"
            )
        )
        assert persuadable <= set(opted_in)
        for income, education, born in rows:
            age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
            assert income >= 80_000 and education in ("bachelor", "master", "doctorate")
            assert 30 <= age <= 55


def score_everyone(session: Session, name: str) -> None:
    """Give every contact a made-up score under a new model, ranked as the scoring job ranks."""
    model_id, version_id = make_uplift_model(session, name)
    ids = sorted(session.scalars(select(Contact.id)))
    ranked = sorted(ids, key=lambda i: -((i * 7919) % 1000))
    session.execute(
        insert(UpliftScore),
        [
            {
                "model_id": model_id,
                "contact_id": contact_id,
                "version_id": version_id,
                "score": ((contact_id * 7919) % 1000) / 1000 - 0.3,
                "percentile": rank / len(ids),
                "scored_at": NOW,
            }
            for rank, contact_id in enumerate(ranked)
        ],
    )
