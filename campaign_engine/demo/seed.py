"""Write the generated demo store into an empty database in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import Engine

import campaign_engine.models  # noqa: F401  (registers every table on Base.metadata)
from campaign_engine.db import Base
from campaign_engine.demo.behaviour_rows import event_rows, order_line_rows, order_rows
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.demo.outreach_rows import (
    campaign_member_rows,
    campaign_rows,
    consent_event_rows,
    consent_rows,
    suppression_rows,
)
from campaign_engine.demo.recommendations import seed_recommendations
from campaign_engine.demo.rows import TableRows, contact_rows, product_rows
from campaign_engine.demo.store import DemoStore, generate_store
from campaign_engine.demo.tracking_rows import delivery_rows, run_rows, template_rows
from campaign_engine.errors import Conflict

CHUNK = 20_000
SQLITE_CACHE_KIB = 256 * 1024
Progress = Callable[[str, int, int], None]
# Tables the demo writes, in foreign-key order; those in EXPLICIT_IDS get explicit ids.
EXPLICIT_IDS = ("products", "contacts", "campaigns", "orders", "message_templates", "campaign_runs")
TABLES = (
    *EXPLICIT_IDS,
    "order_lines",
    "campaign_members",
    "deliveries",
    "events",
    "consents",
    "consent_events",
    "suppressions",
)


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind the demo wrote."""

    contacts: int
    products: int
    orders: int
    order_lines: int
    events: int
    consents: int
    suppressions: int
    campaign_members: int
    deliveries: int


def demo_is_seeded(engine: Engine) -> bool:
    """Return whether the demo campaign (and so the demo data) is already in the database."""
    campaigns = Base.metadata.tables["campaigns"]
    with engine.connect() as connection:
        found = connection.execute(select(campaigns.c.id).where(campaigns.c.code == CAMPAIGN_CODE))
        return found.first() is not None


def _table_plan(store: DemoStore) -> list[TableRows]:
    return [
        product_rows(store),
        contact_rows(store),
        campaign_rows(store),
        order_rows(store),
        order_line_rows(store),
        campaign_member_rows(store),
        template_rows(store),
        run_rows(store),
        delivery_rows(store),
        event_rows(store),
        consent_rows(store),
        consent_event_rows(store),
        suppression_rows(store),
    ]


def _refuse_unless_empty(connection: Connection) -> None:
    campaigns = Base.metadata.tables["campaigns"]
    if connection.execute(select(campaigns.c.id).where(campaigns.c.code == CAMPAIGN_CODE)).first():
        raise Conflict("the demo data is already in this database")
    for name in TABLES:
        table = Base.metadata.tables[name]
        if connection.execute(select(table.c.id).limit(1)).first():
            raise Conflict(f"the demo needs an empty database, but {name} already has rows")


def _write(connection: Connection, rows: TableRows, progress: Progress | None) -> None:
    table = Base.metadata.tables[rows.table]
    done = 0
    for chunk in rows.chunks(CHUNK):
        connection.execute(table.insert(), chunk)
        done += len(chunk)
        if progress:
            progress(rows.table, done, rows.total)


@contextmanager
def _bulk_cache(connection: Connection) -> Iterator[None]:
    # SQLite's default 2 MB page cache thrashes on index updates at a million rows.
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def _reset_sequences(connection: Connection) -> None:
    # Explicit ids leave PostgreSQL's sequences at 1; move them past the rows just written.
    for name in EXPLICIT_IDS:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )


def seed_demo(
    engine: Engine,
    contacts: int = 5000,
    seed: int = 42,
    today: date | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Generate the demo store and write it into an empty database.

    Raises `Conflict` (and writes nothing) when the demo is already seeded or any table the
    demo fills has rows. The same (contacts, seed, today) always writes the same data.
    """
    with engine.begin() as connection:
        _refuse_unless_empty(connection)
        store = generate_store(contacts, seed, today or date.today())
        plan = _table_plan(store)
        with _bulk_cache(connection):
            for rows in plan:
                _write(connection, rows, progress)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
    # The storefront's personalisation consents and first rule set, mined from these orders.
    personalisation_consents = seed_recommendations(engine, today or date.today())
    totals = {rows.table: rows.total for rows in plan}
    return DemoSummary(
        contacts=totals["contacts"],
        products=totals["products"],
        orders=totals["orders"],
        order_lines=totals["order_lines"],
        events=totals["events"],
        consents=totals["consents"] + personalisation_consents,
        suppressions=totals["suppressions"],
        campaign_members=totals["campaign_members"],
        deliveries=totals["deliveries"],
    )
