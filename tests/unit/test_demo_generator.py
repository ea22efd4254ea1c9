"""The demo store generator, checked in memory without a database."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from campaign_engine.demo.behaviour_rows import event_rows, order_rows
from campaign_engine.demo.campaign import member_features, true_effect
from campaign_engine.demo.catalog import PLANTED_RULES, SEASON_MONTHS, build_catalog
from campaign_engine.demo.population import CATEGORY_GAP, PERSONAS, PROSPECT, SEASONAL_ONLY
from campaign_engine.demo.purchases import month_of
from campaign_engine.demo.rows import Row, TableRows, contact_rows
from campaign_engine.demo.store import DemoStore, generate_store

TODAY = date(2026, 5, 1)
COUNTRY_ZONES = {
    "US": {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"},
    "GB": {"Europe/London"},
    "DE": {"Europe/Berlin"},
    "FR": {"Europe/Paris"},
    "CA": {"America/Toronto", "America/Vancouver"},
    "AU": {"Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane"},
}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@cache
def store(contacts: int = 4000, seed: int = 42, today: date = TODAY) -> DemoStore:
    """Return a generated store, shared between tests that only read it."""
    return generate_store(contacts, seed, today)


def all_rows(rows: TableRows) -> list[Row]:
    """Return every row of a table plan."""
    return [row for chunk in rows.chunks(1000) for row in chunk]


def baskets(s: DemoStore) -> list[set[str]]:
    """Return each order's set of SKUs."""
    skus = [spec.sku for spec in s.catalog.specs]
    out: list[set[str]] = [set() for _ in range(s.purchases.size)]
    for order, product in zip(s.purchases.lines.order, s.purchases.lines.product, strict=True):
        out[order].add(skus[product])
    return out


def test_same_seed_gives_identical_rows() -> None:
    a, b = generate_store(1500, 7, TODAY), generate_store(1500, 7, TODAY)
    assert all_rows(contact_rows(a)) == all_rows(contact_rows(b))
    assert all_rows(order_rows(a)) == all_rows(order_rows(b))
    assert all_rows(event_rows(a)) == all_rows(event_rows(b))
    assert np.array_equal(a.campaign.effect, b.campaign.effect)


def test_different_seed_gives_different_rows() -> None:
    a, b = generate_store(1500, 7, TODAY), generate_store(1500, 8, TODAY)
    assert all_rows(contact_rows(a)) != all_rows(contact_rows(b))
    assert a.purchases.size != b.purchases.size or not np.array_equal(
        a.purchases.time, b.purchases.time
    )


def test_everything_happens_before_today() -> None:
    s = store()
    assert s.purchases.time.max() < s.horizon
    assert s.events.time.max() < s.horizon
    assert s.population.created.max() < s.horizon
    first_order = np.full(s.population.size, np.iinfo(np.int64).max)
    np.minimum.at(first_order, s.purchases.contact, s.purchases.time)
    assert (first_order >= s.population.created).all()


def test_contacts_have_consistent_places_and_valid_phones() -> None:
    rows = all_rows(contact_rows(store()))
    for row in rows:
        assert row["time_zone"] in COUNTRY_ZONES[row["country"]]
        ZoneInfo(row["time_zone"])
        assert row["phone"] is None or E164.match(row["phone"])
        assert 18 <= (TODAY - row["birth_date"]).days / 365.25 < 86
    assert sum(row["phone"] is None for row in rows) / len(rows) < 0.25


def test_emails_are_unique_and_mostly_valid() -> None:
    emails = [row["email"] for row in all_rows(contact_rows(store()))]
    present = [e for e in emails if e is not None]
    assert len(set(present)) == len(present)
    assert all(e == e.lower() for e in present)
    invalid = sum(not EMAIL.match(e) for e in present)
    assert 0 < invalid / len(emails) < 0.05
    assert 0 < (len(emails) - len(present)) / len(emails) < 0.06


def test_prospects_have_no_orders_and_buyers_a_few() -> None:
    s = store()
    stage = Counter(row["lifecycle_stage"] for row in all_rows(contact_rows(s)))
    buyers = int((s.history.orders > 0).sum())
    assert stage["prospect"] == s.population.size - buyers
    assert 0.3 < buyers / s.population.size < 0.5
    assert 2.5 < s.purchases.size / buyers < 4.5
    # Prospects buy only in response to the campaign, inside its window.
    prospect = s.population.persona[s.purchases.contact] == PROSPECT
    window = (s.purchases.time >= s.campaign.start) & (s.purchases.time < s.campaign.end)
    assert (window[prospect]).all()


def test_orders_have_one_to_six_numbered_lines_and_sum_their_lines() -> None:
    s = store()
    lines = s.purchases.lines
    per_order = np.bincount(lines.order, minlength=s.purchases.size)
    assert per_order.min() >= 1 and per_order.max() <= 6
    assert (lines.number >= 1).all() and (lines.number <= per_order[lines.order]).all()
    revenue, cost = s.purchases.totals(s.catalog)
    assert (cost < revenue).all()
    first = all_rows(order_rows(s))[0]
    mask = lines.order == 0
    expected = (lines.quantity[mask] * s.catalog.price[lines.product[mask]]).sum()
    assert first["revenue"] == pytest.approx(expected)


def test_seasonal_only_buyers_order_only_in_their_season() -> None:
    s = store()
    persona = s.population.persona[s.purchases.contact]
    season = s.population.season[s.purchases.contact]
    months = month_of(s.purchases.time)
    seasonal = persona == SEASONAL_ONLY
    assert seasonal.sum() > 50
    for index, name in enumerate(("winter", "summer")):
        mine = seasonal & (season == index)
        assert np.isin(months[mine], SEASON_MONTHS[name]).all()
    assert not np.isin(months[~seasonal], SEASON_MONTHS["winter"]).all()


def test_category_gap_buyers_buy_software_repeatedly_but_never_computers() -> None:
    s = store()
    computers = set(s.catalog.in_category("computers").tolist())
    software = set(s.catalog.in_category("software").tolist())
    products: dict[int, list[set[int]]] = {}
    lines = s.purchases.lines
    gap_orders = np.flatnonzero(s.population.persona[s.purchases.contact] == CATEGORY_GAP)
    for order in gap_orders.tolist():
        basket = set(lines.product[lines.order == order].tolist())
        products.setdefault(int(s.purchases.contact[order]), []).append(basket)
    assert len(products) > 30
    for orders in products.values():
        assert not any(basket & computers for basket in orders)
        assert all(basket & software for basket in orders)
    assert np.mean([len(o) for o in products.values()]) > 2


def test_planted_rules_show_up_in_raw_baskets() -> None:
    s = store(contacts=20_000)
    orders = baskets(s)
    for rule in PLANTED_RULES:
        having = [b for b in orders if rule.antecedent in b]
        if len(having) < 40:
            continue
        confidence = sum(rule.consequent in b for b in having) / len(having)
        base_rate = sum(rule.consequent in b for b in orders) / len(orders)
        assert confidence > 0.6 * rule.probability, rule
        assert confidence > 3 * base_rate, rule
    laptop = [b for b in orders if "LAPTOP-BASIC" in b]
    bag = sum("LAPTOP-BAG" in b for b in laptop) / len(laptop)
    assert bag > 10 * sum("LAPTOP-BAG" in b for b in orders) / len(orders)


def test_premium_links_point_from_basic_to_premium() -> None:
    catalog = build_catalog()
    for spec, premium in zip(catalog.specs, catalog.premium.tolist(), strict=True):
        if premium >= 0:
            target = catalog.specs[premium]
            assert target.tier == "premium" and target.category == spec.category
            assert target.price > spec.price
    assert catalog.specs[catalog.premium[catalog.index("MEAL")]].sku == "MEAL-SUPER-SIZE"
    assert (catalog.unit_cost < catalog.price).all()


def test_campaign_true_effects_depend_on_features_and_some_are_negative() -> None:
    s = store(contacts=20_000)
    truth = s.campaign
    features = member_features(s.population, s.consents, s.purchases, truth.member, truth.start)
    assert (truth.effect < 0).mean() > 0.02
    assert (truth.effect[features.complaint] < 0).all()
    sleeping = features.complaint | (features.email_unknown & (features.age >= 60))
    assert (truth.effect[sleeping] <= 0).all()
    sure = (features.orders_365 >= 6) & ~sleeping
    assert np.abs(truth.effect[sure]).max() < 1e-9
    mid = (features.recency_days > 60) & (features.recency_days <= 365)
    assert truth.effect[mid & ~features.complaint].mean() > truth.effect[~mid].mean()
    shifted = type(features)(**{**features.__dict__, "age": features.age * 0 + 25})
    assert not np.array_equal(true_effect(shifted), true_effect(features))


def test_campaign_halves_are_randomised_and_outcomes_follow_the_truth() -> None:
    s = store(contacts=50_000)
    truth = s.campaign
    assert 0.45 < truth.treated.mean() < 0.55
    observed = truth.purchased[truth.treated].mean() - truth.purchased[~truth.treated].mean()
    assert observed == pytest.approx(truth.effect.mean(), abs=0.015)


def test_members_window_orders_are_exactly_their_outcomes() -> None:
    s = store()
    truth = s.campaign
    window = (s.purchases.time >= truth.start) & (s.purchases.time < truth.end)
    in_window = np.bincount(s.purchases.contact[window], minlength=s.population.size)
    assert np.array_equal(in_window[truth.member], truth.purchased.astype(np.int64))
    coded = s.purchases.coded
    assert coded.any() and set(s.purchases.contact[coded]) <= set(truth.member[truth.treated])


def test_events_have_unique_keys_and_some_are_anonymous() -> None:
    rows = all_rows(event_rows(store()))
    assert len({row["dedupe_key"] for row in rows}) == len(rows)
    anonymous = [row for row in rows if row["contact_id"] is None]
    assert anonymous and all(row["anonymous_id"] for row in anonymous)
    assert {row["type"] for row in rows} == {
        "page_view",
        "product_view",
        "add_to_cart",
        "search",
        "checkout",
    }


def test_personas_are_recorded_in_contact_attributes() -> None:
    rows = all_rows(contact_rows(store()))
    personas = Counter(row["attributes"]["persona"] for row in rows)
    assert set(personas) == set(PERSONAS)
    seasonal = [row for row in rows if row["attributes"]["persona"] == "seasonal_only"]
    assert all(row["attributes"]["season"] in ("winter", "summer") for row in seasonal)
