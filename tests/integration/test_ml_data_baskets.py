"""Baskets from the orders: per order or customer, products or categories, over a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.errors import InvalidInput
from campaign_engine.ml_data_baskets import baskets
from campaign_engine.models import Product
from campaign_engine.recommend.mining import AssociationRules
from tests.factories import make_contact, make_order, make_product

START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def sessions(engine: Engine) -> Any:
    return make_session_factory(engine)


def store(session: Session) -> dict[str, Any]:
    """Two customers, four products in three categories, five orders (one outside March)."""
    ann, bob = make_contact(session), make_contact(session)
    laptop = make_product(session, "LAPTOP", "Laptop", 899.0, category="computers")
    bag = make_product(session, "BAG", "Laptop Bag", 49.0, category="computer_accessories")
    mouse = make_product(session, "MOUSE", "Mouse", 25.0, category="computer_accessories")
    movie = make_product(session, "MOVIE", "Movie", 14.99, category="movies")
    orders = [
        make_order(session, ann.id, START, [(laptop, 1), (bag, 1), (mouse, 2)]),
        make_order(session, ann.id, START + DAY, [(movie, 1), (movie, 1)]),  # a repeated line
        make_order(session, bob.id, START + 2 * DAY, [(laptop, 1), (mouse, 0)]),  # no mouse
        make_order(session, bob.id, START + 3 * DAY, [(bag, 0)]),  # nothing bought: no basket
        make_order(session, bob.id, START + 40 * DAY, [(movie, 1)]),  # April
    ]
    return {
        "ann": ann.id,
        "bob": bob.id,
        "products": [p.id for p in (laptop, bag, mouse, movie)],
        "orders": [o.id for o in orders],
    }


def dense(found: Any) -> list[list[int]]:
    return found.matrix.toarray().astype(int).tolist()


def test_order_baskets_of_products_count_each_product_once(sessions: Any) -> None:
    with transaction(sessions) as session:
        ids = store(session)
    with sessions() as session:
        found = baskets(session)
    laptop, bag, mouse, movie = ids["products"]
    assert found.labels == sorted(ids["products"])
    assert all(type(label) is int for label in found.labels)
    assert found.matrix.dtype == bool
    column = {label: j for j, label in enumerate(found.labels)}
    rows = [sorted(found.labels[j] for j in np.flatnonzero(r)) for r in dense(found)]
    assert rows == [sorted([laptop, bag, mouse]), [movie], [laptop], [movie]]
    assert found.matrix.shape == (4, 4)
    assert found.matrix[0, column[mouse]]


def test_category_baskets_per_customer_over_a_window(sessions: Any) -> None:
    with transaction(sessions) as session:
        store(session)
    with sessions() as session:
        found = baskets(
            session, level="category", per="customer", since=START, until=START + 31 * DAY
        )
    assert found.labels == ["computer_accessories", "computers", "movies"]
    # ann: both computer categories and movies; bob: only the laptop in March.
    assert dense(found) == [[1, 1, 1], [0, 1, 0]]


def test_the_window_includes_since_and_excludes_until(sessions: Any) -> None:
    with transaction(sessions) as session:
        ids = store(session)
    with sessions() as session:
        found = baskets(session, since=START + DAY, until=START + 2 * DAY)
        empty = baskets(session, since=START + 50 * DAY)
        late = baskets(session, per="customer", since=START + 10 * DAY)
    assert found.labels == [ids["products"][3]]  # only the movie order of START + DAY
    assert dense(found) == [[1]]
    assert found.matrix.shape == (1, 1)
    assert empty.matrix.shape == (0, 0) and empty.labels == []
    assert dense(late) == [[1]]  # bob's April movie


def test_baskets_feed_the_miner_with_product_and_category_labels(sessions: Any) -> None:
    with transaction(sessions) as session:
        ids = store(session)
        extra = make_contact(session)
        products = {p.sku: p for p in session.scalars(select(Product))}
        for n in range(6):
            lines = [(products["LAPTOP"], 1)] + ([(products["BAG"], 1)] if n % 2 else [])
            make_order(session, extra.id, START + (5 + n) * DAY, lines)
    with sessions() as session:
        product_level = baskets(session, until=START + 31 * DAY)
        category_level = baskets(session, level="category", until=START + 31 * DAY)
    laptop, bag = ids["products"][:2]
    model = AssociationRules(min_support=2, min_confidence=0.3).fit(
        product_level.matrix, items=product_level.labels
    )
    rules = model.rules_
    hit = rules[
        (rules["antecedents"] == frozenset({laptop})) & (rules["consequents"] == frozenset({bag}))
    ]
    # 9 orders in March, laptop in 8 of them, the bag with 4 of those.
    assert model.n_baskets_ == 9
    assert hit["confidence"].tolist() == [0.5]
    by_category = AssociationRules(min_support=2, min_confidence=0.3).fit(
        category_level.matrix, items=category_level.labels
    )
    frame = by_category.rules_
    pairs = set(zip(frame["antecedents"], frame["consequents"], strict=True))
    assert (frozenset({"computers"}), frozenset({"computer_accessories"})) in pairs


@pytest.mark.parametrize(
    ("arguments", "location"),
    [
        ({"level": "brand"}, "level"),
        ({"per": "week"}, "per"),
        ({"since": datetime(2026, 3, 1)}, "since"),
        ({"until": datetime(2026, 3, 1)}, "until"),
        ({"since": START, "until": START}, "since"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    sessions: Any, arguments: dict[str, Any], location: str
) -> None:
    with sessions() as session, pytest.raises(InvalidInput) as error:
        baskets(session, **arguments)
    assert [p.location for p in error.value.problems] == [location]
