"""Build (or reuse) the segment benchmark's store: the demo plus top-up rows, per backend.

A store is cached between runs: a SQLite file under `instance/bench/` and a PostgreSQL schema
`bench_segments_<scale>`. A `bench_load` table written last marks a complete load and keeps
its timings, so a cached store still reports how long it took to build.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import campaign_engine.models  # noqa: F401  (puts every table on Base.metadata)
from benchmarks.segment_data import TODAY, TopUp, draw_top_up
from campaign_engine.db import Base, make_engine
from campaign_engine.demo import seed_demo
from campaign_engine.demo.purchases import ORDER_CHANNELS
from campaign_engine.schema import upgrade

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FOLDER = Path("instance/bench")
CHUNK = 500_000
TABLES = ("contacts", "orders", "order_lines", "events")
TOPPED_UP = ("orders", "order_lines", "events")
SQLITE_LOAD_CACHE_KIB = 1024 * 1024
Columns = dict[str, Any]


def scale_text(scale: float) -> str:
    """Return the scale as it appears in file and schema names: 1, 0.1 -> 1, 0_1."""
    return f"{scale:g}".replace(".", "_")


def store_url(backend: str, scale: float) -> str:
    """Return the database URL of the cached store for `backend` at `scale`."""
    if backend == "sqlite":
        return f"sqlite:///{(FOLDER / f'segments-{scale:g}.sqlite3').resolve()}"
    return f"{PG_URL}?options=-csearch_path%3D{schema_name(scale)}"


def schema_name(scale: float) -> str:
    """Return the PostgreSQL schema of the store at `scale`."""
    return f"bench_segments_{scale_text(scale)}"


def say(message: str) -> None:
    """Print progress to stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Store:
    """An open, complete store and how long it took to build."""

    backend: str
    engine: Engine
    load: dict[str, Any]


@cache
def _top_up(contacts: int) -> tuple[TopUp, float]:
    started = time.perf_counter()
    _, top_up = draw_top_up(contacts)
    return top_up, time.perf_counter() - started


def _marker(engine: Engine) -> dict[str, Any] | None:
    try:
        with engine.connect() as connection:
            figures = connection.execute(text("SELECT figures FROM bench_load")).scalar()
    except DBAPIError:
        return None
    return None if figures is None else dict(json.loads(figures))


def _reset(backend: str, scale: float) -> None:
    if backend == "sqlite":
        FOLDER.mkdir(parents=True, exist_ok=True)
        path = FOLDER / f"segments-{scale:g}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema_name(scale)} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema_name(scale)}"))
    admin.dispose()


def open_store(backend: str, scale: float, fresh: bool = False) -> Store:
    """Return the store for `backend` at `scale`, building it unless a complete one is cached."""
    url = store_url(backend, scale)
    may_exist = backend != "sqlite" or Path(url.removeprefix("sqlite:///")).exists()
    if may_exist and not fresh:
        engine = make_engine(url)
        figures = _marker(engine)
        if figures is not None:
            say(f"{backend} store at scale {scale:g} is cached")
            upgrade(engine)  # migrations added since the store was built
            return Store(backend, engine, figures | {"cached": True} | sync_indexes(engine))
        engine.dispose()
    _reset(backend, scale)
    engine = make_engine(url)
    figures = _build(engine, backend, scale)
    return Store(backend, engine, figures | {"cached": False} | sync_indexes(engine))


def _build(engine: Engine, backend: str, scale: float) -> dict[str, Any]:
    contacts = max(1000, round(1_000_000 * scale))
    upgrade(engine)
    started = time.perf_counter()
    say(f"{backend}: seeding the demo with {contacts:,} contacts")
    seed_demo(engine, contacts=contacts, seed=42, today=TODAY, progress=_progress(backend))
    seeded = time.perf_counter()
    top_up, generate_s = _top_up(contacts)
    say(f"{backend}: top-up drawn in {generate_s:.1f}s; writing it")
    write_s, index_s = write_top_up(engine, top_up)
    analyzed = time.perf_counter()
    analyze(engine)
    analyze_s = time.perf_counter() - analyzed
    with engine.connect() as connection:
        count = "SELECT COUNT(*) FROM {}"
        rows = {t: connection.execute(text(count.format(t))).scalar_one() for t in TABLES}
    figures = {
        "seed_demo_s": round(seeded - started, 1),
        "top_up_generate_s": round(generate_s, 1),
        "top_up_write_s": round(write_s, 1),
        "index_rebuild_s": round(index_s, 1),
        "analyze_s": round(analyze_s, 1),
        "total_s": round(seeded - started + generate_s + write_s + index_s + analyze_s, 1),
        "rows": rows,
    }
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_load (figures TEXT NOT NULL)"))
        connection.execute(text("INSERT INTO bench_load VALUES (:f)"), {"f": json.dumps(figures)})
    say(f"{backend}: store loaded: {figures}")
    return figures


def _progress(backend: str) -> Callable[[str, int, int], None]:
    def report(table: str, done: int, total: int) -> None:
        if done == total or done % 500_000 < 20_000:
            say(f"{backend}: demo {table} {done:,}/{total:,}")

    return report


def _timestamps(seconds: npt.NDArray[np.int64], dialect: str) -> list[str]:
    """Format epoch seconds as the backend stores UTC timestamps (SQLite: as SQLAlchemy does)."""
    moments = seconds.astype("datetime64[s]")
    if dialect == "postgresql":
        return np.datetime_as_string(moments, unit="s", timezone="UTC").tolist()  # type: ignore[no-any-return]
    text_ = np.datetime_as_string(moments.astype("datetime64[us]"), unit="us").astype("S26")
    text_.view(np.uint8).reshape(-1, 26)[:, 10] = ord(" ")
    return text_.astype("U26").tolist()  # type: ignore[no-any-return]


def _order_chunks(top_up: TopUp, base: dict[str, int], dialect: str) -> Iterator[Columns]:
    orders = top_up.orders
    channels = np.asarray(ORDER_CHANNELS)
    for low in range(0, len(orders.contact), CHUNK):
        span = slice(low, low + CHUNK)
        ids = np.arange(span.start, min(span.stop, len(orders.contact))) + base["orders"] + 1
        at = _timestamps(orders.time[span], dialect)
        yield {
            "id": ids,
            "external_id": [f"B{i:09d}" for i in ids.tolist()],
            "contact_id": orders.contact[span] + 1,
            "ordered_at": at,
            "currency": ["USD"] * len(ids),
            "revenue": orders.revenue[span],
            "cost": orders.cost[span],
            "channel": channels[orders.channel[span]],
            "created_at": at,
        }


def _line_chunks(top_up: TopUp, base: dict[str, int], _dialect: str) -> Iterator[Columns]:
    orders = top_up.orders
    for low in range(0, len(orders.line_order), CHUNK):
        span = slice(low, low + CHUNK)
        order = orders.line_order[span]
        yield {
            "id": np.arange(len(order)) + low + base["order_lines"] + 1,
            "order_id": order + base["orders"] + 1,
            "line_number": orders.line_number[span],
            "product_id": orders.line_product[span] + 1,
            "quantity": orders.line_quantity[span],
            "unit_price": orders.unit_price[span],
            "unit_cost": orders.unit_cost[span],
        }


def _event_chunks(top_up: TopUp, base: dict[str, int], dialect: str) -> Iterator[Columns]:
    events = top_up.events
    for low in range(0, len(events.time), CHUNK):
        span = slice(low, low + CHUNK)
        contact = events.contact[span]
        anonymous = events.anonymous[span]
        ids = np.arange(len(contact)) + low + base["events"] + 1
        at = _timestamps(events.time[span], dialect)
        yield {
            "id": ids,
            "dedupe_key": [f"bench:{i}" for i in ids.tolist()],
            "contact_id": [c + 1 if c >= 0 else None for c in contact.tolist()],
            "anonymous_id": [f"anon-{a:07d}" if a >= 0 else None for a in anonymous.tolist()],
            "type": events.type[span],
            "properties": events.properties[span],
            "occurred_at": at,
            "source": ["web"] * len(ids),
            "created_at": at,
        }


def _write_chunk(connection: Connection, table: str, columns: Columns) -> None:
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        # Lists may hold None (NULL): keep them as objects so integers stay integers.
        frame = pd.DataFrame(
            {
                k: pd.Series(v, dtype=object) if isinstance(v, list) else v
                for k, v in columns.items()
            }
        )
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(frame.to_csv(header=False, index=False))
        return
    values = [v.tolist() if isinstance(v, np.ndarray) else v for v in columns.values()]
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({names}) VALUES ({marks})", list(zip(*values, strict=True))
    )


def _secondary_indexes(connection: Connection, tables: list[str]) -> list[tuple[str, str]]:
    """Return (name, CREATE statement) of the tables' indexes that no constraint owns."""
    if connection.dialect.name == "postgresql":
        sql = """
            SELECT indexname, indexdef FROM pg_indexes i
            WHERE schemaname = current_schema() AND tablename IN :tables
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid =
                  (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
        """
    else:
        sql = """
            SELECT name, sql FROM sqlite_master
            WHERE type = 'index' AND tbl_name IN :tables AND sql IS NOT NULL
        """
    query = text(sql).bindparams(bindparam("tables", expanding=True))
    return [(n, s) for n, s in connection.execute(query, {"tables": tables})]


def sync_indexes(engine: Engine) -> dict[str, list[str]]:
    """Give a cached store exactly the models' secondary indexes; return what changed.

    Migrations are still being edited in place, and people try indexes out on these schemas:
    without this a cached store would be timed with yesterday's (or someone's trial) indexes.
    """
    wanted = {
        str(index.name): index for table in Base.metadata.sorted_tables for index in table.indexes
    }
    with engine.begin() as connection:
        tables = [t.name for t in Base.metadata.sorted_tables]
        present = {name for name, _ in _secondary_indexes(connection, tables)}
        dropped, created = sorted(present - set(wanted)), sorted(set(wanted) - present)
        for name in dropped:
            say(f"{engine.dialect.name}: dropping index {name}, which the models do not define")
            connection.execute(text(f'DROP INDEX "{name}"'))
        for name in created:
            say(f"{engine.dialect.name}: building index {name}, new in the models")
            wanted[name].create(connection)
            connection.execute(text(f"ANALYZE {wanted[name].table.name}"))  # type: ignore[union-attr]
    return {"indexes_created": created, "indexes_dropped": dropped}


def write_top_up(engine: Engine, top_up: TopUp) -> tuple[float, float]:
    """Append the top-up rows; return (write seconds, index rebuild seconds).

    Secondary indexes are dropped first and built again at the end: one sorted build is far
    faster than millions of inserts at random places in each index.
    """
    started = time.perf_counter()
    dialect = engine.dialect.name
    with engine.begin() as connection:
        base = {
            t: int(connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one())
            for t in TOPPED_UP
        }
        indexes = _secondary_indexes(connection, list(TOPPED_UP))
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
    plan = [
        ("orders", _order_chunks),
        ("order_lines", _line_chunks),
        ("events", _event_chunks),
    ]
    for table, chunks in plan:
        done = 0
        for columns in chunks(top_up, base, dialect):
            with engine.begin() as connection:
                if dialect == "sqlite":
                    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
                else:
                    # Skip the per-row foreign-key triggers: the rows reference ids that exist
                    # by construction, and the checks double the time of a COPY.
                    connection.execute(text("SET LOCAL session_replication_role = replica"))
                _write_chunk(connection, table, columns)
            done += len(columns["id"])
            say(f"{dialect}: top-up {table} {done:,}")
    written = time.perf_counter()
    with engine.begin() as connection:
        if dialect == "postgresql":
            connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        else:
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
        for name, create in indexes:
            say(f"{dialect}: building {name}")
            connection.execute(text(create))
        if dialect == "postgresql":
            for table in TOPPED_UP:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
    return written - started, time.perf_counter() - written


def analyze(engine: Engine) -> None:
    """Refresh the planner statistics (and, on PostgreSQL, the visibility map) of every table."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            connection.execute(text(f'VACUUM (ANALYZE) "{table}"'))
