"""Rule sets mined from the orders: stored, versioned, activated, pruned; the rules commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, NotFound
from campaign_engine.models import AssociationRule, Product, RuleSet, RuleSetItem
from campaign_engine.recommend.ruleset import (
    activate_rule_set,
    list_rule_sets,
    refresh_if_due,
    refresh_rule_set,
)
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.runtime import Runtime
from tests.factories import make_contact, make_order
from tests.recommend_support import NOW, make_catalogue

SETTINGS = RecommendSettings(min_support=5, min_confidence=0.1, min_lift=1.0, keep=2)
# (basket, how many customers buy it once each)
BASKETS = [
    (["MEAL", "APPLE-PIE"], 12),
    (["MEAL"], 8),
    (["LAPTOP-BASIC", "LAPTOP-BAG"], 6),
    (["ANTIVIRUS"], 10),
    (["OFFICE"], 4),
]


def orders(session: Session, products: dict[str, Product]) -> None:
    for skus, customers in BASKETS:
        for _ in range(customers):
            contact = make_contact(session)
            lines = [(products[sku], 1) for sku in skus]
            make_order(session, contact.id, NOW - timedelta(days=3), lines)


@pytest.fixture
def products(runtime: Runtime) -> dict[str, Product]:
    with transaction(runtime.sessions) as session:
        products = make_catalogue(session)
        orders(session, products)
        return products


def rules_of(session: Session, rule_set_id: int, level: str) -> dict[tuple[str, str], float]:
    skus = dict(session.execute(select(Product.id, Product.sku)).all())
    found = {}
    for rule in session.scalars(
        select(AssociationRule).where(
            AssociationRule.rule_set_id == rule_set_id, AssociationRule.level == level
        )
    ):
        names = [skus.get(i, i) for i in [*rule.antecedents, *rule.consequents]]
        found[(str(names[0]), str(names[1]))] = round(rule.confidence, 3)
    return found


def test_refresh_mines_exact_product_rules_and_item_counts(
    runtime: Runtime, products: dict[str, Product]
) -> None:
    with transaction(runtime.sessions) as session:
        rule_set = refresh_rule_set(session, SETTINGS, NOW, created_by="test")
    with transaction(runtime.sessions) as session:
        stored = session.get(RuleSet, rule_set.id)
        assert stored is not None and stored.active and stored.baskets == 40
        assert rules_of(session, rule_set.id, "product") == {
            ("MEAL", "APPLE-PIE"): 0.6,  # 12 of 20 meal orders
            ("APPLE-PIE", "MEAL"): 1.0,
            ("LAPTOP-BASIC", "LAPTOP-BAG"): 1.0,
            ("LAPTOP-BAG", "LAPTOP-BASIC"): 1.0,
        }
        counts = dict(
            session.execute(
                select(RuleSetItem.product_id, RuleSetItem.baskets).where(
                    RuleSetItem.rule_set_id == rule_set.id, RuleSetItem.level == "product"
                )
            ).all()
        )
        assert counts[products["MEAL"].id] == 20 and counts[products["OFFICE"].id] == 4
        categories = rules_of(session, rule_set.id, "category")
        # One basket per customer: the laptop buyers' two categories go together.
        assert categories[("computers", "computer_accessories")] == 1.0


def test_a_fractional_support_never_means_fewer_than_min_count_baskets(
    runtime: Runtime, products: dict[str, Product]
) -> None:
    loose = replace(SETTINGS, min_support=0.01, min_count=7)  # 1% of 40 would be one basket
    with transaction(runtime.sessions) as session:
        rule_set = refresh_rule_set(session, loose, NOW)
        pairs = rules_of(session, rule_set.id, "product")
    assert set(pairs) == {("MEAL", "APPLE-PIE"), ("APPLE-PIE", "MEAL")}  # 6 laptops < 7


def test_versions_activate_one_at_a_time_and_old_ones_are_pruned(
    runtime: Runtime, products: dict[str, Product]
) -> None:
    with transaction(runtime.sessions) as session:
        first = refresh_rule_set(session, SETTINGS, NOW)
        second = refresh_rule_set(session, SETTINGS, NOW, activate=False)
        activate_rule_set(session, first.id)  # keep the first active
        third = refresh_rule_set(session, SETTINGS, NOW, activate=False)
    with transaction(runtime.sessions) as session:
        kept = [(s.id, s.active) for s in list_rule_sets(session)]
        assert kept == [(third.id, False), (first.id, True)]  # the second went, not the active
        assert second.id not in {
            i for (i,) in session.execute(select(AssociationRule.rule_set_id).distinct())
        }
        activate_rule_set(session, third.id)
    with transaction(runtime.sessions) as session:
        active = session.scalars(select(RuleSet.id).where(RuleSet.active.is_(True))).all()
        assert active == [third.id]


def test_refresh_if_due_waits_for_the_interval_and_for_orders(
    runtime: Runtime, products: dict[str, Product]
) -> None:
    daily = replace(SETTINGS, refresh_hours=24)
    with transaction(runtime.sessions) as session:
        assert refresh_if_due(session, replace(daily, refresh_hours=0), NOW) is None
        assert refresh_if_due(session, daily, NOW) is not None
        assert refresh_if_due(session, daily, NOW + timedelta(hours=23)) is None
        assert refresh_if_due(session, daily, NOW + timedelta(hours=25)) is not None
        years_later = NOW + timedelta(days=800)  # no orders in the window by then
        assert refresh_if_due(session, daily, years_later) is None
        assert session.scalar(select(func.count()).select_from(RuleSet)) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_confidence": 2.0}, "min_confidence"),
        ({"min_lift": -1.0}, "min_lift"),
        ({"max_len": 9}, "max_len"),
        ({"max_rules": 0}, "max_rules"),
    ],
)
def test_absurd_thresholds_are_refused_naming_the_field(
    runtime: Runtime, products: dict[str, Product], overrides: dict[str, float], field: str
) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(InvalidInput) as error:
        refresh_rule_set(session, SETTINGS, NOW, **overrides)
    assert [p.location for p in error.value.problems] == [field]


def test_mining_an_empty_window_says_so(runtime: Runtime, products: dict[str, Product]) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(InvalidInput) as error:
        refresh_rule_set(session, SETTINGS, NOW - timedelta(days=400))
    assert "no orders" in str(error.value)
    with transaction(runtime.sessions) as session, pytest.raises(NotFound):
        activate_rule_set(session, 999)


def run(settings: Settings, *args: str) -> str:
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    result = CliRunner().invoke(main, ["rules", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_rules_commands_mine_list_show_and_activate(
    settings: Settings, runtime: Runtime, products: dict[str, Product]
) -> None:
    mined = run(settings, "mine", "--min-support", "5", "--min-lift", "1", "--until", "2026-06-02")
    assert "40 baskets per order" in mined and "(active)" in mined
    again = run(settings, "mine", "--min-support", "5", "--no-activate", "--until", "2026-06-02")
    assert "(not active)" in again
    listing = run(settings, "list").splitlines()
    assert len(listing) == 2 and "active" in listing[1] and "active" not in listing[0].split()
    with transaction(runtime.sessions) as session:
        newest, oldest = (s.id for s in list_rule_sets(session))
    shown = run(settings, "show", str(oldest), "--sku", "MEAL")
    assert "MEAL -> APPLE-PIE" in shown and "LAPTOP" not in shown
    assert "computers -> computer_accessories" in run(
        settings, "show", str(oldest), "--level", "category"
    )
    assert f"rule set {newest} is active" in run(settings, "activate", str(newest))
    missing = CliRunner().invoke(
        main,
        ["rules", "show", "999"],
        env={"CE_DATABASE_URL": settings.database_url},
    )
    assert missing.exit_code == 1 and "no rule set 999" in missing.output
