"""Benchmark a whole campaign send: 1M contacts (at --scale 1) through the real sendgrid client.

On PostgreSQL, untimed: a store of N contacts (email opted in but 2%, 0.5% suppressed) in a
schema kept between runs (`bench_dispatch_<scale>`), the starter templates, a segment of
everyone. Each measurement clears the previous campaign's rows, saves and launches a campaign with
the personalised `welcome` starter (HTML + derived text + List-Unsubscribe headers), then times
prepare (snapshot, holdout, contact policy, ledger rows) and drain (claim, render, SendGrid
requests of 1,000 personalizations, results) in a child process, so its peak memory is the
dispatch's own. The fake SendGrid runs in another process and counts every delivery id it gets.

Also measured in the same run: the naive baseline (one request per message, no batching) on a
slice of 20k, 20k over SMTP to an aiosmtpd sink (one connection sends about 200 messages a second,
so 100k would take eight minutes), and a 100k slice on one and on two Celery workers. Quiet
hours are off (every contact would otherwise wait for their morning).
Targets: 1M handed to the provider in at most 300 s (stretch 120 s), at most 500 MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from datetime import time as clock
from typing import Any

from sqlalchemy import func, select, text

from campaign_engine.bulk import write_rows
from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.models import Consent, Contact, Segment, Suppression
from campaign_engine.schema import upgrade

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
API_KEY = "SG.bench"
CHUNK = 50_000
FIRST = ("Ann", "Bob", "Chloé", "Dev", "Eve", "Femi", "Grace", "Hiro", "Ines", "José")
CITIES = ("London", "Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast")
TARGET_SECONDS, STRETCH_SECONDS, TARGET_MB = 300, 120, 500
CLEAR = (
    "deliveries, policy_decisions, campaign_members, campaign_runs, campaign_messages, "
    "campaign_variants, campaign_segments, campaigns, target_list_members, target_lists"
)


def store_url(scale: float) -> str:
    """Return the URL of the benchmark schema for `scale`."""
    schema = f"bench_dispatch_{str(scale).replace('.', '_')}"
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def build_store(scale: float) -> int:
    """Create the store once (kept between runs); return its contact count."""
    contacts = int(1_000_000 * scale)
    schema = f"bench_dispatch_{str(scale).replace('.', '_')}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    admin.dispose()
    engine = make_engine(store_url(scale))
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        have = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
    if have >= contacts:
        engine.dispose()
        return contacts
    now = datetime.now(UTC)
    print(f"building {contacts:,} contacts ...", file=sys.stderr)
    for start in range(have + 1, contacts + 1, CHUNK):
        ids = range(start, min(start + CHUNK, contacts + 1))
        with transaction(sessions) as session:
            write_rows(session, Contact, [_contact(i, now) for i in ids], all_new=True)
            write_rows(session, Consent, [_consent(i, now) for i in ids], all_new=True)
            suppressed = [
                {"kind": "email", "value": f"c{i}@example.com", "reason": "hard bounce"}
                for i in ids
                if i % 200 == 0
            ]
            write_rows(session, Suppression, suppressed, all_new=True)
    with transaction(sessions) as session:
        from campaign_engine.message_templates import install_starters

        install_starters(session)
        if session.scalar(select(Segment.id).where(Segment.name == "everyone")) is None:
            definition = {"type": "attribute", "field": "external_id", "op": "is_set"}
            session.add(Segment(name="everyone", definition={"version": 1, "root": definition}))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return contacts


def _contact(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "external_id": f"B{i:07d}",
        "email": f"c{i}@example.com",
        "first_name": FIRST[i % len(FIRST)],
        "last_name": f"Person{i}",
        "city": CITIES[i % len(CITIES)],
        "country": "GB",
        "time_zone": "Europe/London",
        "lifecycle_stage": "customer",
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }


def _consent(i: int, now: datetime) -> dict[str, Any]:
    state = "opted_out" if i % 50 == 0 else "opted_in"
    return {
        "contact_id": i,
        "channel": "email",
        "purpose": "marketing",
        "state": state,
        "source": "bench",
        "updated_at": now,
    }


# ---------------------------------------------------------------- the fake provider's process


def _serve_fake(kind: str, ready: Any, stop: Any, out: Any) -> None:
    """Run a counting fake (SendGrid or SMTP) until `stop`; report counts on `out`."""
    import threading
    from collections import Counter

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    class Counting:
        def add(self, records: list[dict[str, Any]]) -> None:
            with lock:
                for record in records:
                    key = record.get("delivery_id") or record.get("headers", {}).get(
                        "X-CE-Delivery-Id"
                    )
                    counts[str(key)] += 1

    if kind == "sendgrid":
        from campaign_engine.fakes.sendgrid_server import FakeSendGrid

        fake: Any = FakeSendGrid(api_key=API_KEY)
        fake.recorder = Counting()
        ready.put(fake.start())
    else:
        from campaign_engine.fakes.smtp_sink import SmtpSink

        fake = SmtpSink()
        found = re.compile(rb"X-CE-Delivery-Id: *(\d+)")

        def record(mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
            match = found.search(raw)  # a full MIME parse per message would be the bottleneck
            with lock:
                counts[match.group(1).decode() if match else "?"] += 1

        fake.record = record
        host, port = fake.start()
        ready.put(f"{host}:{port}")
    stop.wait()
    fake.stop()
    out.put({"messages": sum(counts.values()), "distinct": len(counts)})


class FakeProcess:
    """A fake provider in its own process; `counts()` stops it and says what it received."""

    def __init__(self, kind: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.out, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        self.process = ctx.Process(
            target=_serve_fake, args=(kind, self.ready, self.stop, self.out), daemon=True
        )
        self.process.start()
        self.address: str = self.ready.get(timeout=60)

    def counts(self) -> dict[str, int]:
        self.stop.set()
        found: dict[str, int] = self.out.get(timeout=60)
        self.process.join(timeout=30)
        return found


# ---------------------------------------------------------------- one measured send


def _send_campaign(url: str, env: dict[str, str], limit: int | None, out: Any) -> None:
    """In a child process: launch a campaign over everyone (or the first `limit`), time it."""
    from campaign_engine.campaigns.lifecycle import send_now
    from campaign_engine.campaigns.service import save_campaign
    from campaign_engine.config import load_settings
    from campaign_engine.dispatch.wiring import build_runner
    from campaign_engine.models import CampaignRun, MessageTemplate
    from campaign_engine.runtime import build_runtime

    settings = load_settings({**os.environ, **env, "CE_DATABASE_URL": url})
    dispatch = replace(settings.dispatch, quiet_start=clock(0), quiet_end=clock(0))
    runtime = build_runtime(replace(settings, dispatch=dispatch))
    with runtime.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {CLEAR} RESTART IDENTITY CASCADE"))
    with transaction(runtime.sessions) as session:
        segment_id = session.scalar(select(Segment.id).where(Segment.name == "everyone"))
        if limit is not None:
            contacts = session.scalar(select(func.count()).select_from(Contact)) or 1
            share = max(round(100 * limit / contacts, 2), 0.01)
            definition = {"version": 1, "root": {"type": "random_bucket", "percent": share}}
            found = session.scalar(select(Segment).where(Segment.name == f"random {share}%"))
            if found is None:
                found = Segment(name=f"random {share}%", definition=definition)
                session.add(found)
                session.flush()
            segment_id = found.id
        template_id = session.scalar(
            select(MessageTemplate.id).where(MessageTemplate.name == "welcome")
        )
        body = {
            "name": "Benchmark send",
            "type": "newsletter",
            "audience": {"segments": [segment_id], "holdout_percent": 5},
            "variants": [{"messages": [{"channel": "email", "template_id": template_id}]}],
        }
        campaign = save_campaign(session, body)
        run_id = send_now(session, campaign.id, datetime.now(UTC)).id
    runner = build_runner(runtime)
    began = datetime.now(UTC)
    started = time.perf_counter()
    runner.advance(run_id)  # sending starts as soon as the first batch is prepared
    finished = time.perf_counter()
    with transaction(runtime.sessions) as session:
        from campaign_engine.dispatch.ledger import run_counts

        counts = run_counts(session, run_id)
        run = session.get(CampaignRun, run_id)
        assert run is not None and run.prepared_at is not None
        prepared = (run.prepared_at - began).total_seconds()
    out.put(
        {
            "prepared_after_seconds": round(prepared, 2),
            "seconds": round(finished - started, 2),
            "ledger": counts,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def measure(
    url: str, env: dict[str, str], fake: str, limit: int | None = None, workers: int = 0
) -> dict[str, Any]:
    """Run one send in a child process against a fake in another; return its figures."""
    provider = FakeProcess(fake)
    if fake == "sendgrid":
        env = env | {
            "CE_EMAIL_TRANSPORT": "sendgrid",
            "CE_SENDGRID_API_KEY": API_KEY,
            "CE_SENDGRID_HOST": provider.address,
        }
    else:
        host, port = provider.address.split(":")
        env = env | {"CE_EMAIL_TRANSPORT": "smtp", "CE_SMTP_HOST": host, "CE_SMTP_PORT": port}
    started_workers = start_workers(url, env, workers)
    try:
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=_send_campaign, args=(url, env, limit, out))
        child.start()
        figures: dict[str, Any] | None = None
        while figures is None:
            try:
                figures = out.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the send failed (exit {child.exitcode})") from None
        child.join()
    finally:
        stop_workers(started_workers)
    received = provider.counts()
    sent = figures["ledger"].get("accepted", 0)
    figures |= {
        "accepted": sent,
        "provider_received": received["messages"],
        "provider_distinct": received["distinct"],
        "messages_per_second": round(sent / figures["seconds"], 1) if figures["seconds"] else None,
    }
    print(json.dumps(figures), file=sys.stderr)
    return figures


def start_workers(url: str, env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    """Start `count` Celery worker processes (one task at a time each) on RabbitMQ."""
    if not count:
        return []
    env.update(
        CE_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
        CE_RESULT_BACKEND="redis://127.0.0.1:6379/5",
    )
    full = {
        **os.environ,
        **env,
        "CE_DATABASE_URL": url,
        "CE_QUIET_START": "00:00",
        "CE_QUIET_END": "00:00",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "campaign_engine", "worker", "--concurrency", "1"],
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    time.sleep(8)  # let them connect to the broker
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """Stop worker processes and their children."""
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def step(name: str) -> None:
    """Say on stderr what is being measured."""
    print(f"measuring {name} ...", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Run every measurement; print one JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 contacts")
    parser.add_argument("--skip", nargs="*", default=[], choices=["naive", "smtp", "celery"])
    args = parser.parse_args(argv)
    contacts = build_store(args.scale)
    url = store_url(args.scale)
    slice_size = max(int(100_000 * args.scale), 1_000)
    env: dict[str, str] = {"CE_SECRET_KEY": "bench"}
    results: dict[str, Any] = {"contacts": contacts}
    step("batched SendGrid")
    results["sendgrid"] = measure(url, env, "sendgrid")
    if "naive" not in args.skip:
        step("naive SendGrid (one request per message)")
        naive = int(20_000 * args.scale) or 1_000
        results["naive_baseline"] = measure(
            url, env | {"CE_SENDGRID_BATCH": "1"}, "sendgrid", naive
        ) | {"note": f"first {naive:,} contacts; one request per message"}
    if "smtp" not in args.skip:
        step("SMTP")
        smtp_size = max(int(20_000 * args.scale), 1_000)  # one connection: ~200 messages/s
        results["smtp"] = measure(url, env, "smtp", smtp_size)
    if "celery" not in args.skip:
        for workers in (1, 2):
            step(f"{workers} Celery worker(s)")
            results[f"celery_{workers}"] = measure(url, dict(env), "sendgrid", slice_size, workers)
    full = results["sendgrid"]
    results["target"] = {
        "seconds_at_most": TARGET_SECONDS * args.scale,
        "stretch_seconds": STRETCH_SECONDS * args.scale,
        "peak_mb_at_most": TARGET_MB,
        "met": full["seconds"] <= TARGET_SECONDS * args.scale and full["peak_mb"] <= TARGET_MB,
    }
    if "naive_baseline" in results:
        results["batched_over_naive"] = round(
            full["messages_per_second"] / results["naive_baseline"]["messages_per_second"], 1
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
