"""Write validated ingest records in bulk: upserts by natural key, references checked first."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.errors import Problem
from campaign_engine.ingest.records import (
    ConsentRecord,
    ContactRecord,
    EventRecord,
    Kind,
    OrderRecord,
    ProductRecord,
    Record,
)
from campaign_engine.models import Consent, ConsentEvent, Contact, Event, Order, OrderLine, Product
from campaign_engine.models.types import utcnow

R = TypeVar("R", bound=Record)
CONSENT_EVENT_KEY = ["contact_id", "channel", "purpose", "occurred_at", "state"]
Item = tuple[int, R]  # (position in the batch or file, record)


@dataclass
class Rejection:
    """A record that was not written, with every reason."""

    index: int
    problems: list[Problem]


@dataclass
class BatchResult:
    """What writing a batch did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        """Fold `other` into this result."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)


def write_batch(session: Session, kind: Kind, items: Sequence[Item[Any]]) -> BatchResult:
    """Write valid records of `kind`; records with unknown references come back rejected."""
    writer: Callable[[Session, Sequence[Item[Any]]], BatchResult] = WRITERS[kind]
    return writer(session, items) if items else BatchResult()


def _last_wins(items: Iterable[Item[R]], key: Callable[[R], Any]) -> list[Item[R]]:
    """Keep the last record for each key (a batch may repeat one)."""
    latest: dict[Any, Item[R]] = {}
    for item in items:
        latest[key(item[1])] = item
    return list(latest.values())


def _ids_by_key(
    session: Session, column: Any, id_column: Any, keys: Iterable[str]
) -> dict[str, int]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = session.execute(select(column, id_column).where(key_in(session, column, wanted)))
    return {key: ident for key, ident in rows}


def _contact_ids(session: Session, keys: Iterable[str]) -> dict[str, int]:
    return _ids_by_key(session, Contact.external_id, Contact.id, keys)


def _missing(index: int, field_name: str, what: str, key: str) -> Rejection:
    return Rejection(index, [Problem(field_name, f"unknown {what} {key!r}")])


def _split_known(
    items: Sequence[Item[R]],
    reference: Callable[[R], str | None],
    known: Container[str],
    field_name: str,
    what: str,
) -> tuple[list[Item[R]], list[Rejection]]:
    """Keep records whose reference is known (or absent); reject the rest, naming the field."""
    kept: list[Item[R]] = []
    rejected: list[Rejection] = []
    for index, record in items:
        key = reference(record)
        if key and key not in known:
            rejected.append(_missing(index, field_name, what, key))
        else:
            kept.append((index, record))
    return kept, rejected


def _upsert(
    session: Session, model: Any, key: str, rows: list[dict[str, Any]], all_new: bool
) -> None:
    """Insert `rows`, updating the columns they carry when `key` already exists."""
    update = [c for c in rows[0] if c != key]
    write_rows(session, model, rows, conflict=[key], update=update, all_new=all_new)


def _write_keyed(
    session: Session,
    model: Any,
    key: str,
    items: Sequence[Item[Any]],
    to_row: Callable[[Any], dict[str, Any]],
) -> BatchResult:
    """Upsert records keyed by `key`, one statement per set of fields the records carry."""
    column = getattr(model, key)
    existing = set(
        session.scalars(
            select(column).where(key_in(session, column, [getattr(r, key) for _, r in items]))
        )
    )
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for _, record in items:
        row = to_row(record)
        groups.setdefault(tuple(sorted(row)), []).append(row)
    now = utcnow()
    for rows in groups.values():
        _upsert(session, model, key, [row | {"updated_at": now} for row in rows], not existing)
    updated = sum(1 for _, r in items if getattr(r, key) in existing)
    return BatchResult(created=len(items) - updated, updated=updated)


def _contact_row(record: ContactRecord) -> dict[str, Any]:
    # Only the fields the record carries are written; the rest stay as stored.
    return record.model_dump(include=record.model_fields_set)


def write_contacts(session: Session, items: Sequence[Item[ContactRecord]]) -> BatchResult:
    """Upsert contacts by external id."""
    return _write_keyed(
        session, Contact, "external_id", _last_wins(items, lambda r: r.external_id), _contact_row
    )


def write_products(session: Session, items: Sequence[Item[ProductRecord]]) -> BatchResult:
    """Upsert products by SKU, then link each to its premium version."""
    items = _last_wins(items, lambda r: r.sku)
    in_batch = {r.sku for _, r in items}
    wanted = {r.premium_sku for _, r in items if r.premium_sku}
    known = in_batch | set(_ids_by_key(session, Product.sku, Product.id, wanted - in_batch))
    items, rejected = _split_known(items, lambda r: r.premium_sku, known, "premium_sku", "product")
    if not items:
        return BatchResult(rejected=rejected)
    result = _write_keyed(
        session,
        Product,
        "sku",
        items,
        lambda r: r.model_dump(include=r.model_fields_set - {"premium_sku"}),
    )
    links = [(r.sku, r.premium_sku) for _, r in items if "premium_sku" in r.model_fields_set]
    ids = _ids_by_key(session, Product.sku, Product.id, [s for pair in links for s in pair if s])
    if links:
        session.execute(
            update(Product),
            [
                {"id": ids[sku], "premium_product_id": ids.get(premium or "")}
                for sku, premium in links
            ],
        )
    result.rejected = rejected
    return result


def write_orders(session: Session, items: Sequence[Item[OrderRecord]]) -> BatchResult:
    """Upsert orders by order id and replace their lines; contacts and SKUs must exist."""
    items = _last_wins(items, lambda r: r.order_id)
    contacts = _contact_ids(session, (r.contact_id for _, r in items))
    products = {
        sku: (pid, cost)
        for sku, pid, cost in session.execute(
            select(Product.sku, Product.id, Product.unit_cost).where(
                key_in(
                    session, Product.sku, sorted({line.sku for _, r in items for line in r.lines})
                )
            )
        )
    }
    rejected: list[Rejection] = []
    valid: list[Item[OrderRecord]] = []
    for index, record in items:
        problems = (
            []
            if record.contact_id in contacts
            else [Problem("contact_id", f"unknown contact {record.contact_id!r}")]
        )
        problems += [
            Problem(f"lines[{n}].sku", f"unknown product {line.sku!r}")
            for n, line in enumerate(record.lines)
            if line.sku not in products
        ]
        if problems:
            rejected.append(Rejection(index, problems))
        else:
            valid.append((index, record))
    if not valid:
        return BatchResult(rejected=rejected)

    order_rows: list[dict[str, Any]] = []
    line_rows: list[list[tuple[Any, int, float]]] = []
    for _, record in valid:
        lines = [
            (
                line,
                products[line.sku][0],
                line.unit_cost if line.unit_cost is not None else products[line.sku][1] or 0.0,
            )
            for line in record.lines
        ]
        order_rows.append(
            {
                "external_id": record.order_id,
                "contact_id": contacts[record.contact_id],
                "ordered_at": record.ordered_at,
                "currency": record.currency,
                "campaign_code": record.campaign_code,
                "channel": record.channel,
                "revenue": round(sum(line.quantity * line.unit_price for line, _, _ in lines), 2),
                "cost": round(sum(line.quantity * cost for line, _, cost in lines), 2),
            }
        )
        line_rows.append(lines)
    keys: list[str] = [row["external_id"] for row in order_rows]
    existing = _ids_by_key(session, Order.external_id, Order.id, keys)
    if existing:
        session.execute(
            delete(OrderLine).where(key_in(session, OrderLine.order_id, list(existing.values())))
        )
    _upsert(session, Order, "external_id", order_rows, not existing)
    order_ids = _ids_by_key(session, Order.external_id, Order.id, keys)
    write_rows(
        session,
        OrderLine,
        [
            {
                "order_id": order_ids[key],
                "line_number": n,
                "product_id": pid,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "unit_cost": cost,
            }
            for key, lines in zip(keys, line_rows, strict=True)
            for n, (line, pid, cost) in enumerate(lines, start=1)
        ],
    )
    return BatchResult(created=len(valid) - len(existing), updated=len(existing), rejected=rejected)


def event_dedupe_key(record: EventRecord) -> str:
    """Return the stable key that makes re-sending an event a no-op."""
    if record.event_id is not None:
        basis = f"id:{record.event_id}"
    else:
        basis = json.dumps(
            [
                record.contact_id,
                record.anonymous_id,
                record.type,
                record.occurred_at.isoformat(),
                record.properties,
            ],
            sort_keys=True,
            default=str,
        )
    return hashlib.sha256(basis.encode()).hexdigest()


def write_events(session: Session, items: Sequence[Item[EventRecord]]) -> BatchResult:
    """Insert events once each; the contact, when named, must exist."""
    items = _last_wins(items, event_dedupe_key)
    contacts = _contact_ids(session, (r.contact_id for _, r in items if r.contact_id))
    items, rejected = _split_known(items, lambda r: r.contact_id, contacts, "contact_id", "contact")
    rows = [
        {
            "dedupe_key": event_dedupe_key(r),
            "contact_id": contacts[r.contact_id] if r.contact_id else None,
            "anonymous_id": r.anonymous_id,
            "type": r.type,
            "properties": r.properties,
            "occurred_at": r.occurred_at,
            "source": r.source,
        }
        for _, r in items
    ]
    if not rows:
        return BatchResult(rejected=rejected)
    keys = [row["dedupe_key"] for row in rows]
    seen = set(
        session.scalars(select(Event.dedupe_key).where(key_in(session, Event.dedupe_key, keys)))
    )
    fresh = [row for row in rows if row["dedupe_key"] not in seen]
    write_rows(session, Event, fresh, conflict=["dedupe_key"], all_new=True)
    return BatchResult(created=len(rows) - len(seen), unchanged=len(seen), rejected=rejected)


def write_consents(session: Session, items: Sequence[Item[ConsentRecord]]) -> BatchResult:
    """Record consent history and move the current state forward when a statement is newer."""
    contacts = _contact_ids(session, (r.contact_id for _, r in items))
    items, rejected = _split_known(items, lambda r: r.contact_id, contacts, "contact_id", "contact")
    now = utcnow()
    statements = sorted(
        ((r.occurred_at or now, r.occurred_at is not None, i, r) for i, r in items),
        key=lambda s: s[0],
    )
    if not statements:
        return BatchResult(rejected=rejected)
    keys = {(contacts[r.contact_id], r.channel, r.purpose) for *_, r in statements}
    current: dict[tuple[int, str, str], Consent] = {
        (c.contact_id, c.channel, c.purpose): c
        for c in session.scalars(
            select(Consent).where(
                tuple_(Consent.contact_id, Consent.channel, Consent.purpose).in_(sorted(keys))
            )
        )
    }
    result = BatchResult(rejected=rejected)
    history = []
    for at, explicit, _, record in statements:
        key = (contacts[record.contact_id], record.channel, record.purpose)
        row = current.get(key)
        if not explicit and row is not None and row.state == record.state:
            result.unchanged += 1  # a re-sent statement without a time changes nothing
            continue
        history.append(
            {
                "contact_id": key[0],
                "channel": key[1],
                "purpose": key[2],
                "state": record.state,
                "source": record.source,
                "occurred_at": at,
            }
        )
        if row is None:
            row = Consent(
                contact_id=key[0],
                channel=key[1],
                purpose=key[2],
                state=record.state,
                source=record.source,
                updated_at=at,
            )
            session.add(row)
            current[key] = row
            result.created += 1
        elif at >= row.updated_at and (row.state, row.source) != (record.state, record.source):
            row.state, row.source, row.updated_at = record.state, record.source, at
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()  # new current rows first, then their history
    if history:
        write_rows(session, ConsentEvent, history, conflict=CONSENT_EVENT_KEY)
    return result


WRITERS: dict[Kind, Callable[[Session, Sequence[Item[Any]]], BatchResult]] = {
    Kind.contacts: write_contacts,
    Kind.products: write_products,
    Kind.orders: write_orders,
    Kind.events: write_events,
    Kind.consents: write_consents,
}
