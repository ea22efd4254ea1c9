"""Benchmark refresh_traits on the seeded demo store (1M contacts at --scale 1) on both backends.

Seeds a fresh database per backend with `seed_demo` and settles it, untimed (SQLite: WAL
checkpoint; PostgreSQL: VACUUM ANALYZE of orders), so no refresh pays for the seed's leftover
work. Then times whole refreshes, commit included: read orders, score RFM, fit and apply the
CLV model, replace the rows. Runs after the first also delete the previous run's rows, as a
scheduled refresh does; the first also pays for importing lifetimes (about 3 s).
The target is 60 seconds at 1,000,000 contacts on each backend.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.demo import seed_demo
from campaign_engine.schema import upgrade
from campaign_engine.traits.refresh import TraitsSummary, refresh_traits

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2026, 11, 1)
TARGET_SECONDS = 60


@contextmanager
def fresh_database(backend: str) -> Iterator[Engine]:
    """Yield a migrated, empty database on `backend`; drop it afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ce-traits-bench-"))
        engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def settle(engine: Engine) -> None:
    """Finish the seed's deferred work: checkpoint SQLite's WAL, vacuum and analyse PostgreSQL."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE orders, contact_traits")


def bench_backend(backend: str, contacts: int, runs: int) -> dict[str, object]:
    """Seed the demo on `backend` and time `runs` refreshes; return the figures."""
    with fresh_database(backend) as engine:
        started = time.perf_counter()
        seeded = seed_demo(engine, contacts=contacts, seed=42, today=TODAY)
        seed_seconds = time.perf_counter() - started
        print(f"{backend}: seeded {contacts} contacts in {seed_seconds:.0f}s", file=sys.stderr)
        settle(engine)
        sessions = make_session_factory(engine)
        seconds: list[float] = []
        summary: TraitsSummary | None = None
        for run in range(runs):
            started = time.perf_counter()
            with transaction(sessions) as session:
                summary = refresh_traits(session, TODAY)
            seconds.append(time.perf_counter() - started)
            print(f"{backend}: refresh {run + 1} took {seconds[-1]:.1f}s", file=sys.stderr)
        assert summary is not None
        return {
            "seconds": round(statistics.median(seconds), 1),
            "runs": [round(s, 1) for s in seconds],
            "rows": summary.contacts,
            "with_clv": summary.with_clv,
            "note": summary.note,
            "orders": seeded.orders,
            "seed_seconds": round(seed_seconds),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="1 = 1,000,000 contacts")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=1, help="refreshes to time; the median counts")
    args = parser.parse_args()
    contacts = max(1000, int(1_000_000 * args.scale))
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    result: dict[str, object] = {"benchmark": "traits", "scale": args.scale, "contacts": contacts}
    for backend in backends:
        result[backend] = bench_backend(backend, contacts, max(1, args.runs))
    result["target_seconds"] = TARGET_SECONDS
    print(json.dumps(result))


if __name__ == "__main__":
    main()
