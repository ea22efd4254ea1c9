"""Benchmark segment builds: five segments at 1M contacts (--scale 1) on PostgreSQL, SQLite, pandas.

The store is the demo (seed 42, today 2026-11-01) topped up to about ten order lines and ten
events per contact, cached between runs (see segment_store.py). Each run refreshes the traits,
builds the five segments of segment_cases.py on every backend (fetch every id, and count; the
median of three runs each), evaluates the same five with pandas, times previews on the 100k
store, checks that every engine finds the same members, and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from benchmarks.segment_cases import BASELINES, DEFINITIONS, NOW, Frames, Ids, load_frames
from benchmarks.segment_store import Store, open_store, say
from campaign_engine.db import make_session_factory, transaction
from campaign_engine.segments.compiler import Context, compile_definition
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import preview_segment, tune_for_segments
from campaign_engine.traits.refresh import refresh_traits

NAMES = {
    1: "list generator: source, country, age, income",
    2: "nested any/all with NOT: browsers or repeat phone buyers, mailable",
    3: "bought software twice in 90 days, never a computer",
    4: "RFM champions with CLV above a threshold",
    5: "10% random bucket excluding segment 2",
}
PREVIEWED = (2, 3)
TARGETS = {"postgresql_build_s": 5.0, "preview_s": 1.0, "traits_refresh_s": 60.0}
# Traits as of the day before the demo's today: its end is NOW, after every order.
TRAITS_AS_OF = NOW.date() - timedelta(days=1)


def timed(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Run `action` `runs` times; return the median seconds and the last result."""
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def context() -> Context:
    """Return the compile context: NOW, and the benchmark's own segments by id."""
    return Context(now=NOW, load_segment=lambda sid: parse_definition(DEFINITIONS[sid]))


def refresh(engine: Engine, as_of: date) -> dict[str, Any]:
    """Recompute every buyer's traits; return the time and what was written."""
    started = time.perf_counter()
    with transaction(make_session_factory(engine)) as session:
        summary = refresh_traits(session, as_of)
    seconds = time.perf_counter() - started
    say(f"{engine.dialect.name} traits refresh: {summary.contacts:,} buyers in {seconds:.1f}s")
    return {"seconds": round(seconds, 2), "contacts": summary.contacts, "clv": summary.with_clv}


def build_segments(engine: Engine, runs: int) -> dict[int, dict[str, Any]]:
    """Build every segment: median seconds to fetch all ids and to count, and the members."""
    results: dict[int, dict[str, Any]] = {}
    with transaction(make_session_factory(engine)) as session:
        tune_for_segments(session)
        for sid, definition in DEFINITIONS.items():

            def members(data: dict[str, Any] = definition) -> list[int]:
                stmt = compile_definition(parse_definition(data), context())
                return list(session.scalars(stmt).all())

            def count(data: dict[str, Any] = definition) -> int:
                stmt = compile_definition(parse_definition(data), context())
                return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

            build_s, ids = timed(members, runs)
            count_s, counted = timed(count, runs)
            results[sid] = {
                "build_s": round(build_s, 3),
                "count_s": round(count_s, 3),
                "members": len(ids),
                "counted": counted,
                "ids": np.unique(np.asarray(ids, dtype=np.int64)),
            }
            say(
                f"{engine.dialect.name} segment {sid}: {len(ids):,} members, "
                f"build {build_s:.2f}s, count {count_s:.2f}s"
            )
    return results


def explain(engine: Engine, sid: int) -> str:
    """Return PostgreSQL's EXPLAIN ANALYZE of fetching segment `sid`."""
    stmt = compile_definition(parse_definition(DEFINITIONS[sid]), context())
    compiled = stmt.compile(engine)
    with transaction(make_session_factory(engine)) as session:
        tune_for_segments(session)
        rows = session.connection().exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params
        )
        return "\n".join(row[0] for row in rows)


def run_baseline(frames: Frames, runs: int) -> dict[int, dict[str, Any]]:
    """Evaluate every segment with pandas: median seconds and the members."""
    results = {}
    for sid, evaluate in BASELINES.items():
        seconds, ids = timed(lambda evaluate=evaluate: evaluate(frames), runs)
        results[sid] = {"seconds": round(seconds, 3), "members": len(ids), "ids": ids}
        say(f"pandas segment {sid}: {len(ids):,} members in {seconds:.2f}s")
    return results


def time_previews(store: Store, runs: int) -> dict[str, Any]:
    """Time `preview_segment` (count, sample and funnel) on the previewed segments."""
    figures: dict[str, Any] = {}
    sessions = make_session_factory(store.engine)
    for sid in PREVIEWED:

        def preview(data: dict[str, Any] = DEFINITIONS[sid]) -> int:
            with transaction(sessions) as session:
                return preview_segment(session, data, NOW, sample_size=20).count

        seconds, count = timed(preview, runs)
        figures[f"segment_{sid}"] = {"seconds": round(seconds, 3), "count": count}
        say(f"{store.backend} preview of segment {sid}: {count:,} in {seconds:.2f}s")
    return figures


def disagreements(found: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    """Return a line for every segment whose members differ between engines."""
    problems = []
    for sid in DEFINITIONS:
        engines = list(found)
        reference = found[engines[0]][sid]["ids"]
        for name in engines:
            entry = found[name][sid]
            ids: Ids = entry["ids"]
            if entry.get("counted", len(ids)) != len(ids):
                problems.append(
                    f"segment {sid}: {name} counts {entry['counted']}, lists {len(ids)}"
                )
            if not np.array_equal(ids, reference):
                only_here = np.setdiff1d(ids, reference)[:5].tolist()
                only_there = np.setdiff1d(reference, ids)[:5].tolist()
                problems.append(
                    f"segment {sid}: {name} has {len(ids)} members, {engines[0]} {len(reference)}"
                    f" (only in {name}: {only_here}; only in {engines[0]}: {only_there})"
                )
    return problems


def summarise(found: dict[str, dict[int, dict[str, Any]]], backends: list[str]) -> dict[str, Any]:
    """Return each segment's members and times per engine, and whether PostgreSQL met its target."""
    segments = {}
    for sid in DEFINITIONS:
        entry: dict[str, Any] = {"name": NAMES[sid], "members": found["pandas"][sid]["members"]}
        for backend in backends:
            figures = found[backend][sid]
            entry[backend] = {"build_s": figures["build_s"], "count_s": figures["count_s"]}
        entry["pandas_s"] = found["pandas"][sid]["seconds"]
        if "postgresql" in found:
            build_s = found["postgresql"][sid]["build_s"]
            entry["postgresql_meets_target"] = bool(
                build_s <= TARGETS["postgresql_build_s"] and build_s < entry["pandas_s"]
            )
        segments[str(sid)] = entry
    return segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="1 = 1M contacts")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached store")
    parser.add_argument("--preview-scale", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print slow PostgreSQL plans")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    stores = {b: open_store(b, args.scale, args.fresh) for b in backends}
    first = stores[backends[0]]
    result: dict[str, Any] = {
        "benchmark": "segments",
        "scale": args.scale,
        "rows": first.load["rows"],
        "load": {b: s.load for b, s in stores.items()},
    }
    result["traits_refresh"] = {b: refresh(s.engine, TRAITS_AS_OF) for b, s in stores.items()}
    result["traits_refresh_s"] = {b: f["seconds"] for b, f in result["traits_refresh"].items()}
    found = {b: build_segments(s.engine, args.runs) for b, s in stores.items()}

    started = time.perf_counter()
    frames = load_frames(first.engine)
    result["pandas_load_s"] = round(time.perf_counter() - started, 1)
    result["pandas_source"] = first.backend
    found["pandas"] = run_baseline(frames, args.runs)
    del frames

    result["segments"] = summarise(found, backends)
    problems = disagreements(found)
    result["members_agree"] = not problems
    if problems:
        result["disagreements"] = problems
        banner = "!" * 72
        say(f"{banner}\nMEMBERS DIFFER BETWEEN ENGINES:\n" + "\n".join(problems) + f"\n{banner}")
    if args.explain and "postgresql" in stores:
        for sid in DEFINITIONS:
            if found["postgresql"][sid]["build_s"] > TARGETS["postgresql_build_s"]:
                plan = explain(stores["postgresql"].engine, sid)
                say(f"EXPLAIN ANALYZE of segment {sid}:\n{plan}")

    previews = {}
    for backend in backends:
        store = stores[backend]
        if args.preview_scale != args.scale:
            store = open_store(backend, args.preview_scale)
        previews[backend] = time_previews(store, args.runs)
    result["preview"] = {"scale": args.preview_scale, **previews}
    result["targets"] = TARGETS
    print(json.dumps(result))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
