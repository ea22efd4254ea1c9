"""Fill orders with lines: a main product, planted co-purchases, add-ons and up-sells."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import (
    CATEGORIES,
    CATEGORY_WEIGHT,
    MONTH_FACTOR,
    NOT_ADD_ONS,
    PLANTED_RULES,
    Catalog,
)
from campaign_engine.demo.population import CATEGORY_GAP, SEASONAL_ONLY

MAX_LINES = 6
# How often the main product comes from the buyer's favourite category, by persona.
FAVOURITE_SHARE = {SEASONAL_ONLY: 0.7, CATEGORY_GAP: 1.0}
DEFAULT_FAVOURITE_SHARE = 0.4
ADD_ON_COUNTS = (0.45, 0.30, 0.15, 0.10)
PREMIUM_ANCHOR_FACTOR = 0.3
# Chance of a second and of a third unit, by category.
EXTRA_UNIT = {"restaurant": (0.35, 0.12), "computers": (0.0, 0.0), "phones": (0.0, 0.0)}
DEFAULT_EXTRA_UNIT = (0.08, 0.02)


@dataclass(frozen=True)
class Buyers:
    """Who places each order being filled, and in which month (one entry per order)."""

    month: npt.NDArray[np.int64]
    persona: npt.NDArray[np.int8]
    favourite: npt.NDArray[np.int16]
    premium_affinity: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Lines:
    """Order lines as arrays, grouped by order and numbered from 1 within each."""

    order: npt.NDArray[np.int64]
    product: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    number: npt.NDArray[np.int64]


@cache
def _category_probabilities(month: int) -> npt.NDArray[np.float64]:
    weights = np.array(
        [
            CATEGORY_WEIGHT[c] * (MONTH_FACTOR[c][month - 1] if c in MONTH_FACTOR else 1.0)
            for c in CATEGORIES
        ]
    )
    probabilities: npt.NDArray[np.float64] = weights / weights.sum()
    return probabilities


def _anchor_categories(rng: np.random.Generator, buyers: Buyers) -> npt.NDArray[np.int64]:
    n = len(buyers.month)
    share = np.full(n, DEFAULT_FAVOURITE_SHARE)
    for persona, value in FAVOURITE_SHARE.items():
        share[buyers.persona == persona] = value
    category = buyers.favourite.astype(np.int64)
    rest = rng.random(n) >= share
    for month in range(1, 13):
        pick = np.flatnonzero(rest & (buyers.month == month))
        p = _category_probabilities(month)
        category[pick] = rng.choice(len(CATEGORIES), size=len(pick), p=p)
    return category


def _anchor_products(
    rng: np.random.Generator, catalog: Catalog, category: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    product = np.empty(len(category), dtype=np.int64)
    tiers = np.array([spec.tier for spec in catalog.specs])
    weight = catalog.weight * np.where(tiers == "premium", PREMIUM_ANCHOR_FACTOR, 1.0)
    for c, name in enumerate(CATEGORIES):
        pick = np.flatnonzero(category == c)
        members = catalog.in_category(name)
        p = weight[members] / weight[members].sum()
        product[pick] = rng.choice(members, size=len(pick), p=p)
    return product


def _upsell(
    rng: np.random.Generator,
    catalog: Catalog,
    product: npt.NDArray[np.int64],
    affinity: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    premium = catalog.premium[product]
    upgrade = (premium >= 0) & (rng.random(len(product)) < affinity)
    return np.where(upgrade, premium, product)


def _planted(
    rng: np.random.Generator,
    catalog: Catalog,
    order: npt.NDArray[np.int64],
    product: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    # Every line holding an antecedent may pull in its consequent, add-ons included.
    orders: list[npt.NDArray[np.int64]] = []
    products: list[npt.NDArray[np.int64]] = []
    for rule in PLANTED_RULES:
        having = order[product == catalog.index(rule.antecedent)]
        hit = having[rng.random(len(having)) < rule.probability]
        orders.append(hit)
        products.append(np.full(len(hit), catalog.index(rule.consequent), dtype=np.int64))
    return np.concatenate(orders), np.concatenate(products)


def _add_on_pool(catalog: Catalog) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    pool = np.array(
        [
            i
            for i, spec in enumerate(catalog.specs)
            if spec.category not in NOT_ADD_ONS and spec.tier != "premium"
        ]
    )
    return pool, catalog.weight[pool] / catalog.weight[pool].sum()


def _add_ons(
    rng: np.random.Generator, catalog: Catalog, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    counts = rng.choice(len(ADD_ON_COUNTS), size=n, p=ADD_ON_COUNTS)
    orders = np.repeat(np.arange(n), counts)
    pool, p = _add_on_pool(catalog)
    return orders, rng.choice(pool, size=len(orders), p=p)


def _quantities(
    rng: np.random.Generator, catalog: Catalog, product: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    second = np.array([EXTRA_UNIT.get(c, DEFAULT_EXTRA_UNIT)[0] for c in CATEGORIES])
    third = np.array([EXTRA_UNIT.get(c, DEFAULT_EXTRA_UNIT)[1] for c in CATEGORIES])
    category = catalog.category[product]
    draw = rng.random(len(product))
    return 1 + (draw < second[category]) + (draw < third[category])


def _numbered(
    order: npt.NDArray[np.int64], product: npt.NDArray[np.int64], slot: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    # Keep one line per product and order (the earliest slot), then number lines in slot order.
    by_product = np.lexsort((slot, product, order))
    order, product, slot = order[by_product], product[by_product], slot[by_product]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (order[1:] != order[:-1]) | (product[1:] != product[:-1])
    order, product, slot = order[first], product[first], slot[first]
    by_slot = np.lexsort((slot, order))
    order, product = order[by_slot], product[by_slot]
    starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
    number = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    keep = number <= MAX_LINES
    return order[keep], product[keep], number[keep]


def fill_baskets(rng: np.random.Generator, catalog: Catalog, buyers: Buyers) -> Lines:
    """Draw the lines of one order per entry of `buyers`."""
    n = len(buyers.month)
    anchor = _anchor_products(rng, catalog, _anchor_categories(rng, buyers))
    anchor = _upsell(rng, catalog, anchor, buyers.premium_affinity)
    add_on_orders, add_on_products = _add_ons(rng, catalog, n)
    base_order = np.concatenate([np.arange(n), add_on_orders])
    base_product = np.concatenate([anchor, add_on_products])
    rule_orders, rule_products = _planted(rng, catalog, base_order, base_product)
    order = np.concatenate([base_order, rule_orders])
    product = np.concatenate([base_product, rule_products])
    # Slots order the lines: main product, add-ons, then planted co-purchases.
    slot = np.concatenate(
        [
            np.zeros(n, dtype=np.int64),
            np.ones(len(add_on_orders), dtype=np.int64),
            np.full(len(rule_orders), 2, dtype=np.int64),
        ]
    )
    order, product, number = _numbered(order, product, slot)
    return Lines(order, product, _quantities(rng, catalog, product), number)
