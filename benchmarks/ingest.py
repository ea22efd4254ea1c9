"""Benchmark CSV ingest: 1M contacts and 5M order lines (at --scale 1) on PostgreSQL and SQLite.

Runs the real `campaign-engine import` command in a subprocess per file, so each figure includes
CSV parsing, validation and the database writes, and the peak memory is that process's own.
The baseline is the naive way: one ORM object per row, flushed per 1,000 (measured on a sample).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import text

from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.models import Contact
from campaign_engine.schema import upgrade

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "Europe/Berlin",
    "Australia/Sydney",
]
CITIES = [
    ("London", "GB"),
    ("New York", "US"),
    ("Chicago", "US"),
    ("Berlin", "DE"),
    ("Sydney", "AU"),
]
START = datetime(2023, 1, 1, tzinfo=UTC)


def write_files(folder: Path, contacts: int, lines: int, seed: int = 7) -> dict[str, Path]:
    """Write deterministic contacts, products and order-line CSVs; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = {k: folder / f"{k}-{contacts}-{lines}.csv" for k in ("contacts", "products", "orders")}
    if all(p.exists() for p in paths.values()):
        return paths
    with paths["products"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "price", "unit_cost", "tier"])
        for i in range(500):
            price = round(5 + (i * 37) % 995, 2)
            writer.writerow(
                [
                    f"SKU{i:04d}",
                    f"Product {i}",
                    f"cat{i % 25}",
                    price,
                    round(price * 0.6, 2),
                    "standard",
                ]
            )
    with paths["contacts"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "external_id",
                "email",
                "phone",
                "first_name",
                "last_name",
                "birth_date",
                "gender",
                "city",
                "country",
                "time_zone",
                "household_income",
                "lifecycle_stage",
            ]
        )
        zone = rng.integers(0, len(ZONES), contacts)
        income = rng.integers(15_000, 250_000, contacts)
        age_days = rng.integers(18 * 365, 85 * 365, contacts)
        for i in range(contacts):
            city, country = CITIES[zone[i]]
            birth = (datetime(2026, 1, 1) - timedelta(days=int(age_days[i]))).date().isoformat()
            writer.writerow(
                [
                    f"C{i:07d}",
                    f"person{i}@example.com",
                    f"+4477009{i % 100000:05d}",
                    "Pat",
                    f"Smith{i}",
                    birth,
                    "female" if i % 2 else "male",
                    city,
                    country,
                    ZONES[zone[i]],
                    int(income[i]),
                    "customer",
                ]
            )
    with paths["orders"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "contact_id", "ordered_at", "sku", "quantity", "unit_price"])
        written = order = 0
        while written < lines:
            size = min(int(rng.integers(1, 6)), lines - written)
            contact = int(rng.integers(0, contacts))
            at = (START + timedelta(minutes=int(rng.integers(0, 1_000_000)))).isoformat()
            skus = rng.integers(0, 500, size)
            for sku in skus:
                writer.writerow([f"O{order:08d}", f"C{contact:07d}", at, f"SKU{sku:04d}", 1, 9.99])
            written += size
            order += 1
    return paths


def run_import(url: str, kind: str, path: Path) -> tuple[float, float]:
    """Run `campaign-engine import`; return (seconds, peak RSS in MB) of that process."""
    env = os.environ | {"CE_DATABASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign_engine", "import", kind, str(path), "--quiet"], env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"import of {path} into {url} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def rows_in(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle) - 1


def naive_baseline(url: str, count: int) -> float:
    """Insert `count` contacts one ORM object at a time; return rows per second."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        for i in range(count):
            session.add(
                Contact(
                    external_id=f"N{i:07d}",
                    email=f"naive{i}@example.com",
                    time_zone="Europe/London",
                )
            )
            if i % 1000 == 999:
                session.flush()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def bench_backend(
    name: str, url: str, paths: dict[str, Path], baseline_rows: int
) -> dict[str, object]:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    figures: dict[str, object] = {}
    total_rows = total_seconds = peak = 0.0
    for kind in ("products", "contacts", "orders"):
        seconds, rss = run_import(url, kind, paths[kind])
        rows = rows_in(paths[kind])
        figures[f"{kind}_rows_per_s"] = round(rows / seconds)
        if kind != "products":
            total_rows += rows
            total_seconds += seconds
        peak = max(peak, rss)
        print(
            f"{name} {kind}: {rows} rows in {seconds:.1f}s = {rows / seconds:,.0f} rows/s,"
            f" peak {rss:.0f} MB",
            file=sys.stderr,
        )
    figures["rows_per_s"] = round(total_rows / total_seconds)
    figures["peak_rss_mb"] = round(peak)
    figures["naive_orm_rows_per_s"] = round(naive_baseline(url, baseline_rows))
    figures["speedup_vs_naive"] = round(
        figures["contacts_rows_per_s"] / figures["naive_orm_rows_per_s"], 1
    )  # type: ignore[operator]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1 = 1M contacts and 5M order lines"
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    contacts, lines = int(1_000_000 * args.scale), int(5_000_000 * args.scale)
    paths = write_files(args.data, contacts, lines)
    result: dict[str, object] = {
        "benchmark": "ingest",
        "scale": args.scale,
        "contacts": contacts,
        "order_lines": lines,
    }
    baseline_rows = max(2000, min(50_000, contacts // 20))
    for backend in args.backends.split(","):
        if backend == "sqlite":
            db = args.data / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
            result["sqlite"] = bench_backend(
                "sqlite", f"sqlite:///{db.resolve()}", paths, baseline_rows
            )
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                result["postgresql"] = bench_backend(
                    "postgresql", f"{PG_URL}?options=-csearch_path%3D{schema}", paths, baseline_rows
                )
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    result["targets"] = {
        "postgresql_rows_per_s": 50_000,
        "sqlite_rows_per_s": 30_000,
        "peak_rss_mb": 1024,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
