"""Benchmark uplift segment conditions: counts over 1M scored contacts on PostgreSQL and SQLite.

A scratch store per backend (a PostgreSQL schema, a SQLite file; both removed afterwards):
--scale 1 is 1,000,000 contacts, all scored by the model `email-offer` (scores from a seeded
normal draw, percentiles ranked as the scoring job ranks them) and half by `winback`. Each case
is compiled by the segment compiler and counted the way the service counts (PostgreSQL tuned by
`tune_for_segments`), median of 3, and every count is checked against numpy on the same draw.
Target: every case within the segment benchmark's build target, 5 s on PostgreSQL at scale 1.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.models import Contact, UpliftModel, UpliftModelVersion, UpliftScore
from campaign_engine.schema import upgrade
from campaign_engine.segments.compiler import Context, compile_definition
from campaign_engine.segments.definition import SegmentDefinition, parse_definition
from campaign_engine.segments.service import tune_for_segments

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 1, tzinfo=UTC)
CHUNK = 100_000
RUNS = 3
TARGET_S = 5.0  # benchmarks/segments.py: a segment build at 1M contacts on PostgreSQL
TOP = {"type": "uplift", "model": "email-offer", "percentile": {"op": "lt", "value": 0.2}}
CASES: dict[str, dict[str, Any]] = {
    "top_20_percent": TOP,
    "score_above_0_05": {
        "type": "uplift",
        "model": "email-offer",
        "score": {"op": "gt", "value": 0.05},
    },
    "top_20_percent_and_income": {
        "type": "all",
        "children": [
            TOP,
            {"type": "attribute", "field": "household_income", "op": "gte", "value": 80_000},
        ],
    },
    "not_sleeping_dogs": {
        "type": "not",
        "child": {"type": "uplift", "model": "email-offer", "score": {"op": "lt", "value": 0}},
    },
    "unscored_by_winback": {"type": "uplift", "model": "winback", "scored": False},
}


def say(message: str) -> None:
    """Print progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def draw(n: int) -> dict[str, npt.NDArray[Any]]:
    """Draw incomes and both models' scores for contacts 1..n, and their ranks."""
    rng = np.random.default_rng(7)
    income = rng.integers(0, 150_000, n)
    score = rng.normal(0.02, 0.05, n).round(6)
    order = np.argsort(-score, kind="stable")
    percentile = np.empty(n)
    percentile[order] = np.arange(n) / n
    winback = rng.permutation(np.arange(1, n + 1))[: n // 2]
    return {"income": income, "score": score, "percentile": percentile, "winback": winback}


def expected(data: dict[str, npt.NDArray[Any]]) -> dict[str, int]:
    """Count every case with numpy."""
    top = data["percentile"] < 0.2
    n = len(data["score"])
    return {
        "top_20_percent": int(top.sum()),
        "score_above_0_05": int((data["score"] > 0.05).sum()),
        "top_20_percent_and_income": int((top & (data["income"] >= 80_000)).sum()),
        "not_sleeping_dogs": int((data["score"] >= 0).sum()),
        "unscored_by_winback": n - len(data["winback"]),
    }


def write(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append rows: COPY on PostgreSQL (an INSERT a row at a time takes minutes), else INSERT."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def load(engine: Engine, data: dict[str, npt.NDArray[Any]]) -> float:
    """Write contacts, two models with a version each, and the scores; return the seconds."""
    started = time.perf_counter()
    n = len(data["score"])
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            write(
                conn,
                Contact.__table__,
                [
                    {"id": i + 1, "external_id": f"C{i + 1}", "lifecycle_stage": "customer",
                     "attributes": "{}" if conn.dialect.name == "postgresql" else {},
                     "household_income": int(data["income"][i]), "created_at": NOW,
                     "updated_at": NOW}
                    for i in range(start, min(n, start + CHUNK))
                ],
            )  # fmt: skip
        for model_id, name in ((1, "email-offer"), (2, "winback")):
            conn.execute(insert(UpliftModel), [{"id": model_id, "name": name, "training": {}}])
            conn.execute(
                insert(UpliftModelVersion),
                [{"id": model_id, "model_id": model_id, "version": 1, "status": "promoted",
                  "learner": "t", "outcome": "conversion", "n_rows": n, "artifact": b"",
                  "artifact_sha256": "0" * 64}],
            )  # fmt: skip
        rows = [(1, i + 1, data["score"][i], data["percentile"][i]) for i in range(n)]
        rows += [(2, int(c), 0.01, None) for c in data["winback"]]
        for start in range(0, len(rows), CHUNK):
            write(
                conn,
                UpliftScore.__table__,
                [
                    {"model_id": m, "contact_id": c, "version_id": m, "score": float(s),
                     "percentile": None if p is None else float(p), "scored_at": NOW}
                    for m, c, s, p in rows[start : start + CHUNK]
                ],
            )  # fmt: skip
    # As autovacuum would, before anyone counts: visibility and planner statistics.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def no_segments(segment_id: int) -> SegmentDefinition:
    """The cases name no other segment."""
    raise LookupError(f"segment {segment_id} is not part of this benchmark")


def measure(engine: Engine, want: dict[str, int]) -> dict[str, float]:
    """Count every case RUNS times; return the median seconds, refusing a wrong count."""
    sessions = make_session_factory(engine)
    ctx = Context(now=NOW, load_segment=no_segments)
    seconds = {}
    for name, root in CASES.items():
        stmt = compile_definition(parse_definition({"version": 1, "root": root}), ctx)
        counting = select(func.count()).select_from(stmt.subquery())
        times = []
        for _ in range(RUNS):
            with transaction(sessions) as session:
                tune_for_segments(session)
                started = time.perf_counter()
                found = session.scalar(counting)
                times.append(time.perf_counter() - started)
            if found != want[name]:
                raise SystemExit(
                    f"{engine.dialect.name} {name}: counted {found}, want {want[name]}"
                )
        seconds[name] = round(statistics.median(times), 3)
        say(f"{engine.dialect.name} {name}: {want[name]:,} in {seconds[name]} s")
    return seconds


def run_postgresql(data: dict[str, npt.NDArray[Any]], want: dict[str, int]) -> dict[str, Any]:
    schema = f"bench_segment_uplift_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        loaded = load(engine, data)
        return {"load_s": round(loaded, 1), "seconds": measure(engine, want)}
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def run_sqlite(data: dict[str, npt.NDArray[Any]], want: dict[str, int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'uplift.sqlite3'}")
        try:
            upgrade(engine)
            loaded = load(engine, data)
            return {"load_s": round(loaded, 1), "seconds": measure(engine, want)}
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Build both scratch stores, count every case, print the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 contacts")
    args = parser.parse_args(argv)
    n = int(1_000_000 * args.scale)
    data = draw(n)
    want = expected(data)
    postgresql = run_postgresql(data, want)
    sqlite = run_sqlite(data, want)
    figures = {
        "benchmark": "segment_uplift",
        "scale": args.scale,
        "contacts": n,
        "counts": want,
        "postgresql": postgresql,
        "sqlite": sqlite,
        "target_postgresql_s": TARGET_S,
        "met": max(postgresql["seconds"].values()) <= TARGET_S,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
