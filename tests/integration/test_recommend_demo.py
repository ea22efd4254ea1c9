"""The demo store answers the storefront: explained cross-sells and up-sells out of the box."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import transaction
from campaign_engine.demo import seed_demo
from campaign_engine.models import Consent, Contact, Order, OrderLine, Product, RuleSet
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key

SLOTS = [
    {"name": "cross", "type": "cross_sell", "k": 3},
    {"name": "up", "type": "up_sell", "k": 3},
    {"name": "offers", "type": "offers", "k": 3},
]


def bought(*skus: str) -> Any:
    return exists(
        select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.contact_id == Contact.id, Product.sku.in_(skus))
    )


def bought_in(category: str) -> Any:
    return exists(
        select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.contact_id == Contact.id, Product.category == category)
    )


def consenting(session: Session, *conditions: Any) -> str:
    """Return the external id of the first demo contact consenting and meeting `conditions`."""
    consent = exists(
        select(Consent.id).where(
            Consent.contact_id == Contact.id,
            Consent.channel == "web",
            Consent.purpose == "personalisation",
            Consent.state == "opted_in",
        )
    )
    query = select(Contact.external_id).where(consent, *conditions).order_by(Contact.id)
    return str(session.scalars(query.limit(1)).one())


def ask(client: FlaskClient, token: str, **body: Any) -> Any:
    response = client.post(
        "/api/v1/personalise",
        json={"slots": SLOTS, **body},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data()
    return response.get_json()


def items(answer: Any, slot: str) -> list[dict[str, Any]]:
    return list(answer["slots"][slot]["items"])


def test_demo_contacts_and_baskets_get_sensible_explained_offers(
    engine: Engine, runtime: Runtime, client: FlaskClient
) -> None:
    seed_demo(engine, contacts=3000, seed=7, today=date(2026, 5, 1))
    with transaction(runtime.sessions) as session:
        rule_set = session.scalars(select(RuleSet).where(RuleSet.active.is_(True))).one()
        assert rule_set.product_rules > 0 and rule_set.category_rules > 0
        token = make_api_key(session, "personalise")[1]
        laptop_owner = consenting(
            session, bought("LAPTOP-BASIC"), ~bought("LAPTOP-BAG", "LAPTOP-PRO")
        )
        software_only = consenting(
            session, bought_in("software"), ~bought_in("computers"), ~bought_in("phones")
        )

    answer = ask(client, token, contact_id=laptop_owner)
    assert answer["mode"] == "personal"
    cross = items(answer, "cross")
    assert "LAPTOP-BAG" in [i["sku"] for i in cross]
    assert all(i["reason"].startswith("bought ") and "the usual rate" in i["reason"] for i in cross)
    up = {i["sku"]: i["reason"] for i in items(answer, "up")}
    assert up["LAPTOP-PRO"] == (
        "bought Laptop 14in Basic; Laptop 16in Pro is its premium version (+1,400.00)"
    )

    meal = ask(client, token, visitor_id="demo-visitor", basket=["MEAL"])
    assert meal["mode"] == "contextual"
    # Ranked by lift x margin: the pie's 5x lift on a small margin may trail a dearer item.
    pie = next(i for i in items(meal, "cross") if i["sku"] == "APPLE-PIE")
    assert pie["reason"].startswith("has Burger Meal in the basket; 5")  # the planted 50%, +/-
    assert items(meal, "up")[0]["sku"] == "MEAL-SUPER-SIZE"

    gap = ask(client, token, contact_id=software_only)
    offers = [i for i in items(gap, "offers") if i["kind"] == "category_gap"]
    assert offers, gap
    assert any(
        o["category"] == "computers" and ", never computers;" in o["reason"] for o in offers
    ), offers
