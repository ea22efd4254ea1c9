"""Benchmark the journey runner: transitions per second, and event-to-entry latency.

On PostgreSQL, in a schema rebuilt for every run (`bench_journeys_<scale>`), untimed: N
contacts (1M at --scale 1) opted in to email, a six-step journey (entry → one-day delay →
condition split → send → wait for `purchase` with a two-day timeout → exit) with all N
enrolled and waiting at the delay, written with INSERT ... SELECT over generate_series.

Timed, in this one process:
1. **Runner.** Time travels past the delay, so every enrollment is due; `tick` walks each
   one through the split and the send (contact policy and a ledger row) to the wait, three
   transitions apiece; then past the timeout, where each takes the fourth, to the exit.
   Transitions per second over both. Every enrollment must end with exactly one delivery.
2. **Event entries.** A second journey enters contacts on a `signed_up` event. A thread
   inserts 1,000 events a second (a batch of 100 every 0.1 s, each for a contact not yet in
   it) for `--seconds`, while the entries job runs every second, as the scheduler does.
   Latency is each enrollment's `entered_at` minus its event's insert time.

Targets: at least 5,000 transitions a second per runner process; event-to-entry p99 ≤ 5 s.
The last line printed is the JSON of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.journeys.entries import enter_by_events
from campaign_engine.journeys.runner import tick
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Event,
    Journey,
    JourneyVersion,
    MessageTemplate,
)
from campaign_engine.schema import upgrade

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
TARGET_RATE = 5_000
TARGET_P99 = 5.0


def schema_name(scale: float) -> str:
    """Return the benchmark schema for `scale`."""
    return f"bench_journeys_{str(scale).replace('.', '_')}"


def six_steps(template_id: int) -> dict[str, Any]:
    """Return the benchmark journey: entry, delay, split, send, wait for an event, exit."""
    known = {"type": "attribute", "attribute": "attributes.tier", "op": "exists"}
    return {
        "version": 1,
        "name": "Benchmark",
        "settings": {},
        "nodes": [
            {"id": "in", "type": "entry_api", "next": "wait"},
            {"id": "wait", "type": "delay", "duration": {"days": 1}, "next": "tier"},
            {"id": "tier", "type": "condition_split", "else": "done",
             "branches": [{"name": "known", "conditions": [known], "next": "mail"}]},
            {"id": "mail", "type": "send", "channel": "email", "template_id": template_id,
             "next": "bought"},
            {"id": "bought", "type": "wait_for_event", "event_type": "purchase",
             "timeout": {"days": 2}, "matched": "done", "timed_out": "done"},
            {"id": "done", "type": "exit"},
        ],
    }  # fmt: skip


def on_signup() -> dict[str, Any]:
    """Return the event-entry journey."""
    return {
        "version": 1,
        "name": "Signed up",
        "nodes": [
            {"id": "joined", "type": "entry_event", "event_type": "signed_up", "next": "done"},
            {"id": "done", "type": "exit"},
        ],
    }


def _journey(engine: Engine, name: str, body: Any) -> tuple[int, int]:
    """Store a published journey with its companion campaign and run; return (journey, version)."""
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        template = session.scalar(select(MessageTemplate).where(MessageTemplate.name == "bench"))
        if template is None:
            template = MessageTemplate(
                name="bench", channel="email", subject="Hi {{ first_name }}", html="<p>Hi</p>"
            )
            session.add(template)
            session.flush()
        campaign = Campaign(code=f"JOURNEY-{name}", name=name, channel="email", status="running")
        session.add(campaign)
        session.flush()
        run = CampaignRun(campaign_id=campaign.id, due_at=START, status="sending", kind="journey")
        journey = Journey(name=name, status="published", draft={}, campaign_id=campaign.id)
        session.add_all([run, journey])
        session.flush()
        definition = body(template.id) if callable(body) else body
        version = JourneyVersion(
            journey_id=journey.id, version=1, definition=definition, published_at=START,
            run_id=run.id,
        )  # fmt: skip
        session.add(version)
        session.flush()
        journey.current_version_id = version.id
        return journey.id, version.id


FILL = """
INSERT INTO contacts (id, external_id, email, first_name, lifecycle_stage, attributes,
                      created_at, updated_at)
SELECT g, 'c' || g, 'c' || g || '@example.com', 'Pat', 'customer',
       jsonb_build_object('tier', CASE WHEN g % 3 = 0 THEN 'gold' ELSE 'silver' END),
       :start - interval '400 days', :start - interval '400 days'
FROM generate_series(1, :n) g;
SELECT setval(pg_get_serial_sequence('contacts', 'id'), :n);
INSERT INTO consents (contact_id, channel, purpose, state, source, updated_at)
SELECT g, 'email', 'marketing', 'opted_in', 'bench', :start - interval '100 days'
FROM generate_series(1, :n) g;
INSERT INTO journey_enrollments (journey_id, version_id, contact_id, entry_number, holdout,
                                 status, node_id, state, due_at, entered_at, updated_at)
SELECT {journey}, {version}, g, 1, false, 'waiting', 'wait',
       CAST(:state AS jsonb), :start + interval '1 day', :start, :start
FROM generate_series(1, :n) g;
INSERT INTO journey_steps (enrollment_id, journey_id, version_id, node_id, entered_at)
SELECT id, journey_id, version_id, 'wait', :start FROM journey_enrollments;
ANALYZE
"""


def build_store(scale: float) -> tuple[Engine, int, int]:
    """Rebuild the schema; return its engine, the six-step version id and N."""
    n = int(1_000_000 * scale)
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema_name(scale)} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema_name(scale)}"))
    admin.dispose()
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema_name(scale)}")
    upgrade(engine)
    journey, version = _journey(engine, "bench", six_steps)
    state = {
        "node_id": "wait",
        "entered_at": START.isoformat(),
        "enrolled_at": START.isoformat(),
        "hops": 1,
        "data": {"wait": {"until": (START + timedelta(days=1)).isoformat()}},
        "sent": [],
    }
    with engine.begin() as conn:
        sql = FILL.format(journey=journey, version=version)
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(text(statement), {"n": n, "start": START, "state": json.dumps(state)})
    return engine, version, n


def measure_runner(engine: Engine, n: int, batch: int) -> dict[str, Any]:
    """Tick past the delay, then past the timeout; return transitions and rates."""
    sessions = make_session_factory(engine)
    began = time.perf_counter()
    sent = tick(sessions, START + timedelta(days=1, minutes=1), batch=batch)
    first = time.perf_counter() - began
    began = time.perf_counter()
    ended = tick(sessions, START + timedelta(days=3, minutes=2), batch=batch)
    second = time.perf_counter() - began
    with engine.connect() as conn:
        deliveries, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT key) FROM deliveries")
        ).one()
        rows = conn.execute(
            text("SELECT status, count(*) FROM journey_enrollments GROUP BY status")
        )
        statuses = {status: count for status, count in rows}
    total = sent + ended
    return {
        "transitions": total,
        "seconds": round(first + second, 2),
        "transitions_per_second": round(total / (first + second)),
        "to_the_wait": {"transitions": sent, "seconds": round(first, 2),
                        "per_second": round(sent / first)},
        "to_the_exit": {"transitions": ended, "seconds": round(second, 2),
                        "per_second": round(ended / second)},
        "deliveries": deliveries,
        "exactly_once": deliveries == distinct == n and statuses == {"completed": n},
    }  # fmt: skip


def measure_entries(engine: Engine, n: int, seconds: float, rate: int) -> dict[str, Any]:
    """Insert `rate` events a second for `seconds` while the entries job runs every second."""
    journey, _ = _journey(engine, "signup", on_signup())
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        enter_by_events(session, datetime.now(UTC))  # the job has been running: its cursor
    stop = threading.Event()
    inserted: list[int] = []
    failures: list[BaseException] = []

    def produce() -> None:
        per_batch, contact = rate // 10, 0
        next_at = time.perf_counter()
        try:
            while not stop.is_set():
                now = datetime.now(UTC)
                rows = []
                for _ in range(per_batch):
                    contact = contact % n + 1
                    rows.append({"dedupe_key": f"e{contact}-{len(inserted)}", "contact_id": contact,
                                 "type": "signed_up", "properties": {}, "occurred_at": now,
                                 "source": "custom", "created_at": now})  # fmt: skip
                    inserted.append(contact)
                with transaction(sessions) as session:
                    session.execute(insert(Event), rows)
                next_at += 0.1
                time.sleep(max(next_at - time.perf_counter(), 0))
        except BaseException as error:
            failures.append(error)

    producer = threading.Thread(target=produce, name="events")
    began = time.perf_counter()
    producer.start()
    passes = []
    while time.perf_counter() - began < seconds + 3:  # a few passes after the producer stops
        if time.perf_counter() - began >= seconds:
            stop.set()
        tick_at = time.perf_counter()
        with transaction(sessions) as session:
            enter_by_events(session, datetime.now(UTC))
        passes.append(time.perf_counter() - tick_at)
        time.sleep(max(1 - (time.perf_counter() - tick_at), 0))
    stop.set()
    producer.join()
    if failures:
        raise failures[0]
    with engine.connect() as conn:
        lags = [
            float(lag)
            for (lag,) in conn.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM e.entered_at - v.created_at)"
                    " FROM journey_enrollments e JOIN events v"
                    " ON v.contact_id = e.contact_id AND v.type = 'signed_up'"
                    " WHERE e.journey_id = :j"
                ),
                {"j": journey},
            )
        ]
    lags.sort()
    return {
        "events": len(inserted),
        "events_per_second": round(len(inserted) / seconds),
        "entered": len(lags),
        "latency_p50_s": round(statistics.median(lags), 3) if lags else None,
        "latency_p99_s": round(lags[int(len(lags) * 0.99) - 1], 3) if lags else None,
        "latency_max_s": round(lags[-1], 3) if lags else None,
        "entries_pass_p99_s": round(sorted(passes)[int(len(passes) * 0.99) - 1], 3),
    }


def main(argv: list[str] | None = None) -> None:
    """Build the store, measure the runner and event entries, print the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 enrollments")
    parser.add_argument("--batch", type=int, default=1000, help="enrollments per transaction")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long events arrive")
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    engine, _, n = build_store(args.scale)
    print(f"store of {n:,} enrollments built in {time.perf_counter() - began:.1f} s", flush=True)
    runner = measure_runner(engine, n, args.batch)
    print(f"runner: {runner}", flush=True)
    entries = measure_entries(engine, n, args.seconds, args.rate)
    print(f"entries: {entries}", flush=True)
    engine.dispose()
    figures = {
        "benchmark": "journeys",
        "scale": args.scale,
        "enrollments": n,
        "batch": args.batch,
        **runner,
        **{f"entry_{k}" if not k.startswith("latency") else k: v for k, v in entries.items()},
        "targets": {"transitions_per_second": TARGET_RATE, "latency_p99_s": TARGET_P99},
        "met": runner["transitions_per_second"] >= TARGET_RATE
        and (entries["latency_p99_s"] or 0) <= TARGET_P99,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
