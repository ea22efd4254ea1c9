"""Turn the demo's orders, order lines and web events into insert-ready row dicts."""

from __future__ import annotations

from collections.abc import Iterator

from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.demo.purchases import ORDER_CHANNELS
from campaign_engine.demo.rows import Row, TableRows, aware_times, spans
from campaign_engine.demo.store import DemoStore
from campaign_engine.demo.web_events import (
    ADD_TO_CART,
    CHECKOUT,
    EVENT_TYPES,
    PAGE_VIEW,
    PAGES,
    SEARCH,
    SEARCHES,
)

CURRENCY = "USD"


def order_rows(store: DemoStore) -> TableRows:
    """Return the orders, with ids 1..M in time order."""
    purchases = store.purchases
    revenue, cost = purchases.totals(store.catalog)

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(purchases.size, size):
            times = aware_times(purchases.time[span])
            yield [
                {
                    "id": k + 1,
                    "external_id": f"O{k + 1:08d}",
                    "contact_id": contact + 1,
                    "ordered_at": at,
                    "currency": CURRENCY,
                    "revenue": r,
                    "cost": c,
                    "campaign_code": CAMPAIGN_CODE if coded else None,
                    "channel": ORDER_CHANNELS[channel],
                    "created_at": at,
                }
                for k, contact, at, r, c, coded, channel in zip(
                    range(span.start, span.stop),
                    purchases.contact[span].tolist(),
                    times,
                    revenue[span].tolist(),
                    cost[span].tolist(),
                    purchases.coded[span].tolist(),
                    purchases.channel[span].tolist(),
                    strict=True,
                )
            ]

    return TableRows("orders", purchases.size, chunks)


def order_line_rows(store: DemoStore) -> TableRows:
    """Return the order lines, priced from the catalogue."""
    lines, catalog = store.purchases.lines, store.catalog
    price, cost = catalog.price.tolist(), catalog.unit_cost.tolist()

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(len(lines.order), size):
            yield [
                {
                    "order_id": order + 1,
                    "line_number": number,
                    "product_id": product + 1,
                    "quantity": quantity,
                    "unit_price": price[product],
                    "unit_cost": cost[product],
                }
                for order, number, product, quantity in zip(
                    lines.order[span].tolist(),
                    lines.number[span].tolist(),
                    lines.product[span].tolist(),
                    lines.quantity[span].tolist(),
                    strict=True,
                )
            ]

    return TableRows("order_lines", len(lines.order), chunks)


def _properties(store: DemoStore, kind: int, product: int, detail: int) -> Row:
    spec = store.catalog.specs[product]
    if kind == PAGE_VIEW:
        return {"url": PAGES[detail % len(PAGES)]}
    if kind == SEARCH:
        return {"query": SEARCHES[detail % len(SEARCHES)]}
    if kind == CHECKOUT:
        items = 1 + detail % 3
        return {"items": items, "value": round(spec.price * items, 2)}
    properties: Row = {"product_id": product + 1, "sku": spec.sku, "category": spec.category}
    if kind == ADD_TO_CART:
        properties.update(quantity=1, price=spec.price)
    return properties


def event_rows(store: DemoStore) -> TableRows:
    """Return the web events, each with a unique `demo:N` dedupe key."""
    events = store.events

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(events.size, size):
            times = aware_times(events.time[span])
            yield [
                {
                    "dedupe_key": f"demo:{k + 1}",
                    "contact_id": contact + 1 if contact >= 0 else None,
                    "anonymous_id": f"anon-{anonymous:07d}" if anonymous >= 0 else None,
                    "type": EVENT_TYPES[kind],
                    "properties": _properties(store, kind, product, detail),
                    "occurred_at": at,
                    "source": "web",
                    "created_at": at,
                }
                for k, contact, anonymous, kind, product, detail, at in zip(
                    range(span.start, span.stop),
                    events.contact[span].tolist(),
                    events.anonymous[span].tolist(),
                    events.type[span].tolist(),
                    events.product[span].tolist(),
                    events.detail[span].tolist(),
                    times,
                    strict=True,
                )
            ]

    return TableRows("events", events.size, chunks)
