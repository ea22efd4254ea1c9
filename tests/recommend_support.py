"""Test support for recommendations: a small catalogue, a stored rule set, consents and offers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Consent,
    Contact,
    Delivery,
    MessageTemplate,
    Product,
    RuleSet,
)
from campaign_engine.recommend.ruleset import MinedLevel, activate_rule_set, rule_row, save_rule_set
from tests.factories import make_contact, make_order

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
# sku, name, category, price, unit cost, tier, premium sku
CATALOGUE = [
    ("LAPTOP-BASIC", "Laptop 14in Basic", "computers", 499.0, 399.0, "basic", "LAPTOP-PRO"),
    ("LAPTOP-PRO", "Laptop 16in Pro", "computers", 1899.0, 1519.0, "premium", None),
    ("LAPTOP-BAG", "Laptop Bag", "computer_accessories", 49.0, 22.0, "basic", None),
    ("MOUSE", "Mouse", "computer_accessories", 25.0, 11.0, "basic", None),
    ("ANTIVIRUS", "Antivirus 1 Year", "software", 39.0, 6.0, "basic", None),
    ("OFFICE", "Office Suite", "software", 99.0, 15.0, "standard", None),
    ("MEAL", "Burger Meal", "restaurant", 8.99, 3.15, "basic", "MEAL-SUPER-SIZE"),
    ("MEAL-SUPER-SIZE", "Super-Size Burger Meal", "restaurant", 11.49, 4.02, "premium", None),
    ("APPLE-PIE", "Apple Pie", "restaurant", 2.49, 0.87, "standard", None),
]
# antecedent skus, consequent skus, confidence, lift
PRODUCT_RULES = [
    (["LAPTOP-BASIC"], ["LAPTOP-BAG"], 0.45, 3.2),
    (["LAPTOP-BASIC"], ["MOUSE"], 0.35, 2.8),
    (["LAPTOP-BASIC"], ["ANTIVIRUS"], 0.30, 2.0),
    (["MEAL"], ["APPLE-PIE"], 0.50, 4.0),
]
CATEGORY_RULES = [(["software"], ["computers"], 0.18, 2.5)]
SUPPORT = {"MEAL": 0.30, "APPLE-PIE": 0.15, "LAPTOP-BASIC": 0.05, "ANTIVIRUS": 0.06, "OFFICE": 0.02}
CATEGORY_SUPPORT = {"restaurant": 0.4, "computers": 0.06, "software": 0.08}


def make_catalogue(session: Session) -> dict[str, Product]:
    """Add the test catalogue; return its products by SKU."""
    products = {}
    for sku, name, category, price, cost, tier, _ in CATALOGUE:
        products[sku] = Product(
            sku=sku, name=name, category=category, price=price, unit_cost=cost, tier=tier
        )
        session.add(products[sku])
    session.flush()
    for sku, *_, premium in CATALOGUE:
        if premium:
            products[sku].premium_product_id = products[premium].id
    session.flush()
    return products


def _measures(confidence: float, lift: float) -> dict[str, float]:
    return {
        "support": 0.01,
        "confidence": confidence,
        "lift": lift,
        "leverage": 0.005,
        "conviction": 1.5,
    }


def make_rule_set(
    session: Session,
    products: dict[str, Product],
    product_rules: Sequence[tuple[list[str], list[str], float, float]] = PRODUCT_RULES,
    category_rules: Sequence[tuple[list[str], list[str], float, float]] = CATEGORY_RULES,
    per: str = "order",
    activate: bool = True,
) -> RuleSet:
    """Store (and activate) a rule set built from SKU rules instead of mining."""
    baskets = 1000
    ids = {sku: p.id for sku, p in products.items()}
    mined = {
        "product": MinedLevel(
            baskets,
            [
                rule_row("product", [ids[a] for a in lhs], [ids[c] for c in rhs], _measures(c, li))
                for lhs, rhs, c, li in product_rules
            ],
            {ids[sku]: round(s * baskets) for sku, s in SUPPORT.items()},
        ),
        "category": MinedLevel(
            baskets,
            [
                rule_row("category", lhs, rhs, _measures(c, li))
                for lhs, rhs, c, li in category_rules
            ],
            {c: round(s * baskets) for c, s in CATEGORY_SUPPORT.items()},
        ),
    }
    rule_set = save_rule_set(
        session, RuleSet(per=per, parameters={"min_support": 10}, created_by="test"), mined
    )
    if activate:
        activate_rule_set(session, rule_set.id, NOW)
    return rule_set


def personalisation_consent(session: Session, contact_id: int, state: str = "opted_in") -> None:
    """Record the contact's web personalisation consent."""
    session.add(
        Consent(
            contact_id=contact_id,
            channel="web",
            purpose="personalisation",
            state=state,
            source="test",
            updated_at=NOW - timedelta(days=10),
        )
    )
    session.flush()


def buyer(
    session: Session,
    products: dict[str, Product],
    skus: Sequence[str],
    consent: str | None = "opted_in",
    **fields: Any,
) -> Contact:
    """Add a contact who bought `skus` (one order each), with a personalisation consent state."""
    contact = make_contact(session, **fields)
    for n, sku in enumerate(skus):
        make_order(session, contact.id, NOW - timedelta(days=30 + n), [(products[sku], 1)])
    if consent is not None:
        personalisation_consent(session, contact.id, consent)
    return contact


def sent_offer(
    session: Session,
    contact: Contact,
    kind: str = "cross_sell",
    sent_at: datetime | None = None,
    code: str = "SPRING-XSELL",
) -> Campaign:
    """Record a `kind` campaign whose email was sent to `contact` at `sent_at`."""
    sent_at = sent_at or datetime.now(UTC) - timedelta(days=2)
    campaign = Campaign(
        code=code, name="Spring accessories", channel="email", type=kind, status="running"
    )
    template = MessageTemplate(name=f"offer {code}", subject="Hi", text="Hello")
    session.add_all([campaign, template])
    session.flush()
    run = CampaignRun(campaign_id=campaign.id, due_at=sent_at, status="completed")
    session.add(run)
    session.flush()
    session.add(
        Delivery(
            key=f"{code}-{contact.id}",
            run_id=run.id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            channel="email",
            variant="A",
            template_id=template.id,
            address=contact.email or "x@example.com",
            status="accepted",
            planned_at=sent_at,
            not_before=sent_at,
            sent_at=sent_at,
        )
    )
    session.flush()
    return campaign
