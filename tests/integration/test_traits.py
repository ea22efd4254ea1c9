"""Refreshing contact traits from orders on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.models import Contact, ContactTraits, Product
from campaign_engine.models.traits import CHURN_RISKS
from campaign_engine.traits.refresh import TraitsSummary, refresh_traits
from tests.factories import make_contact, make_order, make_product

AS_OF = date(2024, 1, 31)


def at(day: str, clock: str = "12:00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def dollar(session: Session) -> Product:
    return make_product(session, "ONE", "One dollar", 1.0)


def buy(session: Session, contact: Contact, item: Product, when: datetime, amount: int) -> None:
    make_order(session, contact.id, when, [(item, amount)])


def refresh(
    sessions: sessionmaker[Session], as_of: date = AS_OF, window_days: int = 365
) -> TraitsSummary:
    with transaction(sessions) as session:
        return refresh_traits(session, as_of, window_days=window_days)


def traits(sessions: sessionmaker[Session]) -> dict[str, ContactTraits]:
    with transaction(sessions) as session:
        rows = session.execute(
            select(Contact.external_id, ContactTraits).join(
                ContactTraits, ContactTraits.contact_id == Contact.id
            )
        ).all()
        return {external_id: row for external_id, row in rows}


def seed_reference_case(sessions: sessionmaker[Session]) -> None:
    """CRM-REFERENCE §4.1: A, B and C as of 2024-01-31, and P, a prospect who never ordered."""
    with transaction(sessions) as session:
        item = dollar(session)
        a, b, c = (make_contact(session, external_id=k) for k in "ABC")
        make_contact(session, external_id="P")
        for day in ("2024-01-30", "2024-01-10", "2023-12-01"):
            buy(session, a, item, at(day), 100)
        buy(session, b, item, at("2023-06-01"), 500)
        buy(session, c, item, at("2024-01-20"), 20)


def test_reference_case_scores_ranks_and_groups(sessions: sessionmaker[Session]) -> None:
    seed_reference_case(sessions)

    summary = refresh(sessions)

    rows = traits(sessions)
    assert sorted(rows) == ["A", "B", "C"]  # the prospect gets no row
    got = {
        k: (t.recency_days, t.frequency, t.monetary, t.avg_order_value, t.orders_total)
        for k, t in rows.items()
    }
    assert got == {
        "A": (1, 3, 300.0, 100.0, 3),
        "B": (244, 1, 500.0, 500.0, 1),
        "C": (11, 1, 20.0, 20.0, 1),
    }
    # Five bins, three contacts: score = 1 + floor(5 * worse / 3); worse 0 → 1, 1 → 2, 2 → 4.
    scores = {
        k: (t.r_score, t.f_score, t.m_score, t.rfm_cell, t.rfm_group) for k, t in rows.items()
    }
    assert scores == {
        "A": (4, 4, 2, "442", "champions"),
        "B": (1, 1, 4, "114", "lost"),
        "C": (2, 1, 1, "211", "hibernating"),
    }
    a = rows["A"]
    assert (a.first_order_at, a.last_order_at) == (at("2023-12-01"), at("2024-01-30"))
    assert (a.as_of, a.revenue_total) == (AS_OF, 300.0)
    assert a.computed_at.tzinfo is not None
    assert (summary.contacts, summary.with_clv, summary.as_of) == (3, 0, AS_OF)


def test_too_little_history_leaves_clv_empty_and_says_why(sessions: sessionmaker[Session]) -> None:
    seed_reference_case(sessions)

    summary = refresh(sessions)

    assert summary.note is not None and "repeat buyers" in summary.note
    for row in traits(sessions).values():
        assert (row.clv, row.p_alive, row.expected_purchases, row.churn_risk) == (
            None,
            None,
            None,
            None,
        )


def test_the_as_of_day_ends_at_midnight_utc_and_later_orders_are_ignored(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        item = dollar(session)
        late, future = (
            make_contact(session, external_id="L"),
            make_contact(session, external_id="F"),
        )
        buy(session, late, item, at("2024-01-31", "23:59:59.999999"), 10)
        buy(session, late, item, at("2024-02-01", "00:00:00"), 1000)
        buy(session, future, item, at("2024-02-05"), 50)

    refresh(sessions)

    rows = traits(sessions)
    assert list(rows) == ["L"]  # F's only order is after the as-of moment
    assert (rows["L"].recency_days, rows["L"].orders_total, rows["L"].revenue_total) == (0, 1, 10.0)


def test_frequency_and_monetary_look_back_over_the_window_only(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        item = dollar(session)
        w = make_contact(session, external_id="W")
        buy(session, w, item, at("2023-01-31", "23:59:59"), 7)  # just before the 365-day window
        buy(session, w, item, at("2023-02-01", "00:00:00"), 11)  # first moment inside it
        buy(session, w, item, at("2024-01-01"), 13)

    refresh(sessions)
    default = traits(sessions)["W"]
    refresh(sessions, window_days=30)
    month = traits(sessions)["W"]

    assert (default.frequency, default.monetary) == (2, 24.0)
    assert (default.orders_total, default.revenue_total, default.avg_order_value) == (
        3,
        31.0,
        10.33,
    )
    assert (month.frequency, month.monetary, month.orders_total) == (0, 0.0, 3)


def test_a_second_refresh_replaces_every_row(sessions: sessionmaker[Session]) -> None:
    seed_reference_case(sessions)
    refresh(sessions)
    with transaction(sessions) as session:
        c = session.scalars(select(Contact).where(Contact.external_id == "C")).one()
        buy(session, c, session.scalars(select(Product)).one(), at("2024-02-10"), 80)

    summary = refresh(sessions, as_of=date(2024, 2, 15))

    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ContactTraits)) == 3
    rows = traits(sessions)
    assert (rows["C"].recency_days, rows["C"].frequency, rows["C"].monetary) == (5, 2, 100.0)
    assert rows["A"].recency_days == 16
    assert {row.as_of for row in rows.values()} == {date(2024, 2, 15)}
    assert summary.contacts == 3


def test_refresh_reports_progress_in_rows_written(sessions: sessionmaker[Session]) -> None:
    seed_reference_case(sessions)
    calls: list[tuple[str, int, int]] = []

    with transaction(sessions) as session:
        refresh_traits(session, AS_OF, progress=lambda *call: calls.append(call))

    assert calls == [("traits", 3, 3)]


def test_enough_repeat_buyers_fill_clv_probability_alive_and_churn_risk(
    sessions: sessionmaker[Session],
) -> None:
    rng = np.random.default_rng(20240131)
    with transaction(sessions) as session:
        items = [
            make_product(session, f"P{i}", f"Product {i}", price)
            for i, price in enumerate((9.5, 24.0, 60.0))
        ]
        for n in range(300):
            contact = make_contact(session, external_id=f"R{n:03d}")
            start = int(rng.integers(30, 700))
            for _ in range(1 + int(rng.poisson(2.0))):
                day = AS_OF - timedelta(days=int(rng.integers(0, start)))
                item = items[int(rng.integers(0, len(items)))]
                buy(session, contact, item, at(day.isoformat()), int(rng.integers(1, 4)))

    summary = refresh(sessions)

    rows = traits(sessions).values()
    assert (summary.contacts, summary.with_clv, summary.note) == (300, 300, None)
    assert all(r.clv is not None and r.clv >= 0 for r in rows)
    assert all(r.p_alive is not None and 0 <= r.p_alive <= 1 for r in rows)
    assert all(r.expected_purchases is not None and r.expected_purchases >= 0 for r in rows)
    assert {r.churn_risk for r in rows} <= set(CHURN_RISKS)
    assert len({r.churn_risk for r in rows}) > 1
    for r in rows:
        assert r.p_alive is not None
        band = "high" if r.p_alive < 0.3 else "medium" if r.p_alive < 0.7 else "low"
        assert r.churn_risk == band
    # Buyers who ordered on one day only have made no repeat purchase: BG/NBD counts them alive.
    assert all(r.p_alive == 1.0 for r in rows if r.first_order_at.date() == r.last_order_at.date())


def test_a_store_without_orders_ends_with_no_traits(sessions: sessionmaker[Session]) -> None:
    seed_reference_case(sessions)
    refresh(sessions)

    summary = refresh(sessions, as_of=date(2023, 1, 1))  # before anyone's first order

    assert (summary.contacts, summary.with_clv) == (0, 0)
    assert summary.note is not None
    assert traits(sessions) == {}
