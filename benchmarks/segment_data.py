"""Draw the extra orders, order lines and events that top the demo store up to benchmark size.

The demo writes about 2.3 order lines and 1.3 events per contact; the segment benchmark wants
about ten of each. The extra rows come from the same population and catalogue (so baskets,
seasons and favourite categories look like the demo's), drawn with numpy from a fixed seed:
orders only for contacts who already bought, skewed towards those who bought most.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import SEASON_MONTHS, Catalog
from campaign_engine.demo.population import DAY, SEASONS
from campaign_engine.demo.purchases import (
    MONTH_VOLUME,
    ORDER_DAYS,
    month_of,
    place_orders,
)
from campaign_engine.demo.store import DemoStore, generate_store
from campaign_engine.demo.web_events import (
    ADD_TO_CART,
    CHECKOUT,
    EVENT_TYPES,
    PAGE_VIEW,
    PAGES,
    SEARCH,
    SEARCHES,
    generate_web_events,
)

SEED = 42
TOP_UP_SEED = 4242
TODAY = date(2026, 11, 1)
LINES_PER_CONTACT = 10
EVENTS_PER_CONTACT = 10
BUYER_SKEW = 0.5  # sigma of the log-normal factor on each buyer's share of the extra orders
MAX_REDRAWS = 64

Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ExtraOrders:
    """Orders in time order (positions from 0) and their lines; contacts/products from 0."""

    contact: Array
    time: Array
    channel: Array
    revenue: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]
    line_order: Array
    line_number: Array
    line_product: Array
    line_quantity: Array
    unit_price: npt.NDArray[np.float64]
    unit_cost: npt.NDArray[np.float64]


@dataclass(frozen=True)
class ExtraEvents:
    """Events in time order; `contact`/`anonymous` are -1 when absent, `properties` is JSON."""

    contact: Array
    anonymous: Array
    type: npt.NDArray[np.str_]
    properties: npt.NDArray[np.object_]
    time: Array


@dataclass(frozen=True)
class TopUp:
    """Everything the benchmark adds on top of the demo store."""

    orders: ExtraOrders
    events: ExtraEvents


def _order_times(rng: np.random.Generator, store: DemoStore, contact: Array) -> Array:
    """Draw order times after sign-up with the demo's month volumes and buyers' seasons."""
    horizon, population = store.horizon, store.population
    start = np.maximum(population.created[contact], horizon - ORDER_DAYS * DAY)
    volume = np.asarray(MONTH_VOLUME) / max(MONTH_VOLUME)
    # in_season[s + 1, month]: row 0 is "no season", every month allowed.
    in_season = np.ones((len(SEASONS) + 1, 13), dtype=bool)
    for s, name in enumerate(SEASONS):
        in_season[s + 1] = np.isin(np.arange(13), SEASON_MONTHS[name])
    season = population.season[contact].astype(np.int64) + 1
    time = np.empty(len(contact), dtype=np.int64)
    pending = np.arange(len(contact))
    for attempt in range(MAX_REDRAWS):
        low = start[pending]
        drawn = low + (rng.random(len(pending)) * (horizon - low)).astype(np.int64)
        month = month_of(drawn)
        keep = (rng.random(len(pending)) < volume[month - 1]) & in_season[season[pending], month]
        if attempt == MAX_REDRAWS - 1:
            keep[:] = True  # a recent sign-up whose season has not come yet
        time[pending[keep]] = drawn[keep]
        pending = pending[~keep]
        if not len(pending):
            break
    return time


def draw_orders(rng: np.random.Generator, store: DemoStore, lines_wanted: int) -> ExtraOrders:
    """Draw about `lines_wanted` order lines in whole orders by the demo's buyers."""
    purchases, catalog = store.purchases, store.catalog
    buyers = np.flatnonzero(store.history.orders > 0)
    weight = store.history.orders[buyers] * rng.lognormal(0.0, BUYER_SKEW, len(buyers))
    lines_per_order = len(purchases.lines.order) / purchases.size
    n = int(lines_wanted / lines_per_order * 1.1) + 10
    contact = buyers[rng.choice(len(buyers), size=n, p=weight / weight.sum())]
    time = _order_times(rng, store, contact)
    by_time = np.argsort(time, kind="stable")
    drawn = place_orders(rng, store.population, catalog, contact[by_time], time[by_time])
    # Drop a random set of whole orders so the lines come out at `lines_wanted` or just under.
    sizes = np.bincount(drawn.lines.order, minlength=n)
    shuffled = rng.permutation(n)
    drop = np.zeros(n, dtype=bool)
    drop[shuffled[np.cumsum(sizes[shuffled]) > lines_wanted]] = True
    kept = drawn.without(drop)
    revenue, cost = kept.totals(catalog)
    lines = kept.lines
    return ExtraOrders(
        contact=kept.contact,
        time=kept.time,
        channel=kept.channel,
        revenue=revenue,
        cost=cost,
        line_order=lines.order,
        line_number=lines.number,
        line_product=lines.product,
        line_quantity=lines.quantity,
        unit_price=catalog.price[lines.product],
        unit_cost=catalog.unit_cost[lines.product],
    )


def _property_documents(
    catalog: Catalog, kind: Array, product: Array, detail: Array
) -> npt.NDArray[np.object_]:
    """Return each event's properties as JSON text, shaped as the demo writes them."""
    items = 1 + detail % 3
    sub = np.select(
        [kind == PAGE_VIEW, kind == SEARCH, kind == CHECKOUT],
        [detail % len(PAGES), detail % len(SEARCHES), product * 3 + items - 1],
        product,
    )
    code = kind * 1_000_000 + sub
    unique, inverse = np.unique(code, return_inverse=True)
    documents = np.empty(len(unique), dtype=object)
    for i, value in enumerate(unique.tolist()):
        k, s = divmod(value, 1_000_000)
        if k == PAGE_VIEW:
            doc: dict[str, object] = {"url": PAGES[s]}
        elif k == SEARCH:
            doc = {"query": SEARCHES[s]}
        elif k == CHECKOUT:
            spec, n_items = catalog.specs[s // 3], s % 3 + 1
            doc = {"items": n_items, "value": round(spec.price * n_items, 2)}
        else:
            spec = catalog.specs[s]
            doc = {"product_id": s + 1, "sku": spec.sku, "category": spec.category}
            if k == ADD_TO_CART:
                doc.update(quantity=1, price=spec.price)
        documents[i] = json.dumps(doc)
    result: npt.NDArray[np.object_] = documents[inverse]
    return result


def draw_events(rng: np.random.Generator, store: DemoStore, wanted: int) -> ExtraEvents:
    """Draw `wanted` more web events: further years' worth of the demo's own event stream."""
    batches = []
    total = 0
    while total < wanted:
        batch = generate_web_events(rng, store.population, store.catalog, store.horizon)
        batches.append(batch)
        total += batch.size

    def joined(name: str) -> Array:
        return np.concatenate([getattr(b, name) for b in batches])

    keep = np.sort(rng.permutation(total)[:wanted])
    time = joined("time")[keep]
    by_time = np.argsort(time, kind="stable")
    keep = keep[by_time]
    kind = joined("type")[keep]
    return ExtraEvents(
        contact=joined("contact")[keep],
        anonymous=joined("anonymous")[keep],
        type=np.asarray(EVENT_TYPES)[kind],
        properties=_property_documents(
            store.catalog, kind, joined("product")[keep], joined("detail")[keep]
        ),
        time=time[by_time],
    )


def draw_top_up(contacts: int) -> tuple[DemoStore, TopUp]:
    """Return the demo store for `contacts` and the rows that bring it to benchmark size."""
    store = generate_store(contacts, SEED, TODAY)
    rng = np.random.default_rng(TOP_UP_SEED)
    lines_wanted = max(0, LINES_PER_CONTACT * contacts - len(store.purchases.lines.order))
    events_wanted = max(0, EVENTS_PER_CONTACT * contacts - store.events.size)
    orders = draw_orders(rng, store, lines_wanted)
    events = draw_events(rng, store, events_wanted)
    return store, TopUp(orders, events)
