"""Seeding the demo store into SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.demo import DemoSummary, demo_is_seeded, seed_demo
from campaign_engine.errors import Conflict
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    Consent,
    Contact,
    Event,
    Order,
    OrderLine,
    Product,
    Suppression,
)
from tests.factories import make_contact

TODAY = date(2026, 5, 1)
COUNTED = {
    "contacts": Contact,
    "products": Product,
    "orders": Order,
    "order_lines": OrderLine,
    "events": Event,
    "consents": Consent,
    "suppressions": Suppression,
    "campaign_members": CampaignMember,
}


def seed_small(engine: Engine) -> DemoSummary:
    """Seed a small demo store for a fixed day."""
    return seed_demo(engine, contacts=800, seed=3, today=TODAY)


def test_seeding_writes_what_the_summary_reports(engine: Engine) -> None:
    assert not demo_is_seeded(engine)
    summary = seed_small(engine)
    with make_session_factory(engine)() as session:
        for field, model in COUNTED.items():
            stored = session.scalar(select(func.count()).select_from(model))
            assert stored == getattr(summary, field), field
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.status == "completed" and campaign.cost > 0
        groups = session.scalars(select(CampaignMember.group).distinct()).all()
        assert set(groups) == {"treatment", "control"}
        order = session.scalars(select(Order).order_by(Order.id)).first()
        assert order is not None and order.ordered_at.tzinfo is not None
    assert demo_is_seeded(engine)


def test_order_totals_match_their_lines(engine: Engine) -> None:
    seed_small(engine)
    line_revenue = func.sum(OrderLine.quantity * OrderLine.unit_price)
    with make_session_factory(engine)() as session:
        sums = session.execute(
            select(Order.revenue, line_revenue)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .group_by(Order.id, Order.revenue)
        ).all()
    assert sums and all(revenue == pytest.approx(total) for revenue, total in sums)


def test_seeding_twice_is_refused_without_writing(engine: Engine) -> None:
    summary = seed_small(engine)
    with pytest.raises(Conflict):
        seed_small(engine)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == summary.contacts


def test_new_rows_get_fresh_ids_after_seeding(engine: Engine) -> None:
    summary = seed_small(engine)
    with transaction(make_session_factory(engine)) as session:
        contact = make_contact(session)
        assert contact.id == summary.contacts + 1


def test_progress_reports_every_table_up_to_its_total(engine: Engine) -> None:
    seen: dict[str, tuple[int, int]] = {}
    seed_demo(
        engine,
        contacts=300,
        seed=1,
        today=TODAY,
        progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)),
    )
    assert {"contacts", "orders", "events", "campaign_members"} <= set(seen)
    assert all(done == total for done, total in seen.values())
