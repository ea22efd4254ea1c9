"""Generate benchmark baskets: demo orders over the demo catalogue widened to 5,000 products.

The demo catalogue has some 80 products. The benchmark keeps them, and their planted rules,
and adds long-tail products to every category until there are 5,000: each category's new
products follow a Zipf-like popularity, every eighth is the premium version of the seven
before it, and every fourth pulls a planted consequent (an add-on product) into the basket
with its own probability, the way `campaign_engine.demo.catalog.PLANTED_RULES` does. Orders
come from the demo's own population and purchase generator (`generate_history`), so anchors,
seasons, add-ons and up-sells behave as in the demo; the demo itself is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from campaign_engine.demo.catalog import (
    CATEGORIES,
    CATEGORY_WEIGHT,
    NOT_ADD_ONS,
    PRODUCTS,
    Catalog,
    ProductSpec,
    unit_cost,
)
from campaign_engine.demo.population import generate_population
from campaign_engine.demo.purchases import generate_history
from campaign_engine.demo.store import horizon_of

ITEMS = 5_000
HORIZON = horizon_of(date(2025, 1, 1))
CONTACTS_PER_DRAW = 250_000
PREMIUM_EVERY = 8
RULE_EVERY = 4
# Each category's long tail together weighs this much relative to its demo products.
TAIL_WEIGHT = 1.0


@dataclass(frozen=True)
class ExtraRules:
    """Planted co-purchases among the added products: per product, consequent and chance."""

    consequent: npt.NDArray[np.int64]  # -1: none
    probability: npt.NDArray[np.float64]


def wide_catalog(rng: np.random.Generator, items: int = ITEMS) -> tuple[Catalog, ExtraRules]:
    """Return the demo catalogue widened to `items` products, and the added planted rules."""
    extra = items - len(PRODUCTS)
    share = np.array([CATEGORY_WEIGHT[c] for c in CATEGORIES])
    per_category = np.maximum(1, np.floor(extra * share / share.sum()).astype(int))
    per_category[np.argmax(per_category)] += extra - per_category.sum()
    specs = list(PRODUCTS)
    for category, count in zip(CATEGORIES, per_category.tolist(), strict=True):
        specs += _tail(rng, category, count)
    tuple_specs = tuple(specs)
    positions = {spec.sku: i for i, spec in enumerate(tuple_specs)}
    catalog = Catalog(
        specs=tuple_specs,
        category=np.array([CATEGORIES.index(p.category) for p in specs], dtype=np.int16),
        price=np.array([p.price for p in specs]),
        unit_cost=np.array([unit_cost(p) for p in specs]),
        premium=np.array(
            [positions[p.premium_sku] if p.premium_sku else -1 for p in specs], dtype=np.int32
        ),
        weight=np.array([p.weight for p in specs]),
    )
    return catalog, _extra_rules(rng, catalog)


def _tail(rng: np.random.Generator, category: str, count: int) -> list[ProductSpec]:
    demo = [p for p in PRODUCTS if p.category == category]
    median_price = float(np.median([p.price for p in demo]))
    popularity = 1.0 / np.arange(1, count + 1) ** 0.9
    weight = TAIL_WEIGHT * sum(p.weight for p in demo) * popularity / popularity.sum()
    specs: list[ProductSpec] = []
    prefix = category.upper().replace("_", "-")
    for k in range(count):
        sku = f"{prefix}-X{k:04d}"
        group_end = (k // PREMIUM_EVERY + 1) * PREMIUM_EVERY - 1
        price = round(median_price * float(rng.lognormal(0.0, 0.4)), 2)
        if k % PREMIUM_EVERY == PREMIUM_EVERY - 1:
            specs.append(
                ProductSpec(
                    sku,
                    f"{category} {k} premium",
                    category,
                    price * 3,
                    "premium",
                    None,
                    float(weight[k]) * 0.2,
                )
            )
        else:
            premium = f"{prefix}-X{group_end:04d}" if group_end < count else None
            specs.append(
                ProductSpec(
                    sku, f"{category} {k}", category, price, "standard", premium, float(weight[k])
                )
            )
    return specs


def _extra_rules(rng: np.random.Generator, catalog: Catalog) -> ExtraRules:
    size = catalog.size
    consequent = np.full(size, -1, dtype=np.int64)
    probability = np.zeros(size)
    add_ons = np.array(
        [
            i
            for i, spec in enumerate(catalog.specs)
            if i >= len(PRODUCTS) and spec.category not in NOT_ADD_ONS and spec.tier != "premium"
        ]
    )
    antecedents = np.arange(len(PRODUCTS), size)[::RULE_EVERY]
    consequent[antecedents] = rng.choice(add_ons, size=len(antecedents))
    probability[antecedents] = rng.uniform(0.2, 0.5, size=len(antecedents))
    same = consequent[antecedents] == antecedents
    consequent[antecedents[same]] = -1
    return ExtraRules(consequent, probability)


def basket_matrix(baskets: int, seed: int = 20250101) -> tuple[sp.csr_matrix, list[str]]:
    """Return `baskets` orders as a 0/1 CSR matrix (orders by 5,000 products) and the SKUs."""
    rng = np.random.default_rng(seed)
    catalog, extra = wide_catalog(rng)
    orders: list[npt.NDArray[np.int64]] = []
    products: list[npt.NDArray[np.int64]] = []
    total = 0
    while total < baskets:
        population = generate_population(rng, CONTACTS_PER_DRAW, HORIZON)
        lines = generate_history(rng, population, catalog, HORIZON).lines
        take = lines.order < baskets - total
        orders.append(lines.order[take] + total)
        products.append(lines.product[take])
        total += int(lines.order[take].max()) + 1 if take.any() else 0
    order = np.concatenate(orders)
    product = np.concatenate(products)
    # The added planted rules: a line holding an antecedent pulls in its consequent.
    having = extra.consequent[product] >= 0
    hit = having & (rng.random(len(product)) < extra.probability[product])
    order = np.concatenate([order, order[hit]])
    product = np.concatenate([product, extra.consequent[product[hit]]])
    matrix = sp.csr_matrix(
        (np.ones(len(order), dtype=bool), (order, product)), shape=(baskets, catalog.size)
    )
    matrix.sum_duplicates()
    return matrix, [spec.sku for spec in catalog.specs]
