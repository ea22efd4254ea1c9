"""Draw web events: page and product views, searches, carts and checkouts, some anonymous."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import CATEGORIES, Catalog
from campaign_engine.demo.population import (
    CATEGORY_GAP,
    DAY,
    FREQUENT,
    OCCASIONAL,
    PROSPECT,
    SEASONAL_ONLY,
    Population,
)

EVENT_DAYS = 365
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "search", "checkout")
EVENT_TYPE_WEIGHTS = (0.42, 0.30, 0.10, 0.12, 0.06)
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, SEARCH, CHECKOUT = range(len(EVENT_TYPES))
# Mean events per contact over the year, by persona.
EVENTS_PER_CONTACT = {
    PROSPECT: 0.8,
    OCCASIONAL: 2.0,
    FREQUENT: 5.0,
    SEASONAL_ONLY: 1.5,
    CATEGORY_GAP: 2.5,
}
ANONYMOUS_SHARE = 0.2  # anonymous events per contact event
FAVOURITE_VIEW_SHARE = 0.6
PAGES = ("/", "/deals", "/account", "/help", *(f"/category/{c}" for c in CATEGORIES))
SEARCHES = (
    "laptop", "laptop bag", "wireless mouse", "antivirus", "phone", "phone case", "earbuds",
    "movie", "soundtrack", "meal deal", "apple pie", "checking account", "loan", "skis",
    "ski jacket", "swimsuit", "sunglasses", "tent", "hiking boots", "office suite",
)  # fmt: skip


@dataclass(frozen=True)
class WebEvents:
    """Events in time order; `contact` is -1 for anonymous ones, `anonymous` -1 for known ones."""

    contact: npt.NDArray[np.int64]
    anonymous: npt.NDArray[np.int64]
    type: npt.NDArray[np.int64]
    product: npt.NDArray[np.int64]
    detail: npt.NDArray[np.int64]
    time: npt.NDArray[np.int64]

    @property
    def size(self) -> int:
        """Return the number of events."""
        return len(self.type)


def _products(
    rng: np.random.Generator, catalog: Catalog, favourite: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    product = rng.choice(catalog.size, size=len(favourite), p=catalog.weight / catalog.weight.sum())
    loyal = rng.random(len(favourite)) < FAVOURITE_VIEW_SHARE
    for c, name in enumerate(CATEGORIES):
        pick = np.flatnonzero(loyal & (favourite == c))
        product[pick] = rng.choice(catalog.in_category(name), size=len(pick))
    return product


def generate_web_events(
    rng: np.random.Generator, population: Population, catalog: Catalog, horizon: int
) -> WebEvents:
    """Draw a year of web events for contacts and anonymous visitors."""
    rate = np.zeros(population.size)
    for persona, mean in EVENTS_PER_CONTACT.items():
        rate[population.persona == persona] = mean
    start = np.maximum(population.created, horizon - EVENT_DAYS * DAY)
    rate = rate * (horizon - start) / (EVENT_DAYS * DAY)
    known = np.repeat(np.arange(population.size), rng.poisson(rate))
    n_anonymous = int(len(known) * ANONYMOUS_SHARE)
    visitors = max(1, population.size // 5)
    contact = np.concatenate([known, np.full(n_anonymous, -1)])
    anonymous = np.concatenate([np.full(len(known), -1), rng.integers(0, visitors, n_anonymous)])
    low = np.concatenate([start[known], np.full(n_anonymous, horizon - EVENT_DAYS * DAY)])
    time = low + (rng.random(len(low)) * (horizon - low)).astype(np.int64)
    n = len(contact)
    favourite = np.where(
        contact >= 0,
        population.favourite[np.maximum(contact, 0)],
        rng.integers(0, len(CATEGORIES), n),
    )
    kind = rng.choice(len(EVENT_TYPES), size=n, p=EVENT_TYPE_WEIGHTS)
    product = _products(rng, catalog, favourite)
    detail = rng.integers(0, 1 << 30, n)
    by_time = np.argsort(time, kind="stable")
    return WebEvents(
        contact[by_time],
        anonymous[by_time],
        kind[by_time],
        product[by_time],
        detail[by_time],
        time[by_time],
    )
