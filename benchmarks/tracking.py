"""Benchmark tracking: events per second into the endpoints under gunicorn, and the ROI report.

Ingest, on PostgreSQL: `campaign-engine serve` (gunicorn, CE_WEB_WORKERS workers, buffered
open/click writes) over a store of sent deliveries; wrk on loopback drives, for --seconds each,
(1) open pixels and click redirects mixed 1:1, each with its own signed token, and (2) signed
SendGrid Event Webhook posts of 100 events each. After a clean shutdown every event is counted
in the database: nothing a request was answered for may be missing (no loss). Reported: events
per second, the p99 latency of each phase, and the loss. The same run measures the direct-write
mode (one transaction per open or click) as the baseline.

ROI: `campaign_roi` of a 1M-member campaign (half held out; deliveries, orders, attributions)
built once in schema `bench_tracking_<scale>` (benchmarks/tracking_store.py), median of 5.
Targets: at least 3,000 events/s with p99 at most 20 ms; the ROI report in at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.tracking_store import build_store
from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.fakes.webhook_posts import EventWebhookSigner
from campaign_engine.links import click_token, open_token
from campaign_engine.reporting.roi import campaign_roi

SECRET = "bench-tracking-secret"
EVENTS_PER_POST = 100
TARGET_EVENTS, TARGET_P99_MS, TARGET_ROI_S = 3000, 20.0, 2.0
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
GET_SCRIPT = """
local lines = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  i = math.random(#lines)
end
request = function()
  i = i %% #lines + 1
  return wrk.format("GET", lines[i], {["User-Agent"] = "%s"})
end
"""
POST_SCRIPT = """
local posts = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    local stamp, signature, body = line:match("([^\\t]+)\\t([^\\t]+)\\t(.*)")
    posts[#posts + 1] = {stamp, signature, body}
  end
end
request = function()
  i = i + 1
  if i > #posts then i = 1 end
  local p = posts[i]
  return wrk.format("POST", "/t/webhooks/sendgrid", {
    ["Content-Type"] = "application/json",
    ["X-Twilio-Email-Event-Webhook-Timestamp"] = p[1],
    ["X-Twilio-Email-Event-Webhook-Signature"] = p[2],
  }, p[3])
end
"""


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wrk(port: int, script: Path, data: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests": requests,
        "errors": int(bad.group(1)) if bad else 0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "seconds": seconds,
    }


def _serve(url: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign_engine", "serve"],
        env={
            **os.environ,
            **env,
            "CE_DATABASE_URL": url,
            "CE_PORT": str(port),
            "CE_SECRET_KEY": SECRET,
            "CE_LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("campaign-engine serve did not start")


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, count(*) FROM tracking_events GROUP BY source"))
        found = {str(source): int(n) for source, n in rows}
    engine.dispose()
    return found


def _inputs(url: str, folder: Path, posts: int) -> tuple[Path, Path, str]:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE tracking_events"))
        ids = [
            int(i)
            for i in conn.execute(
                text("SELECT id FROM deliveries ORDER BY id LIMIT 200000")
            ).scalars()
        ]
    engine.dispose()
    now = datetime.now(UTC)
    paths = folder / "paths.txt"
    with paths.open("w") as out:
        for n, did in enumerate(ids):
            if n % 2:
                token = click_token(SECRET, did, f"https://shop.example/p/{n % 500}?utm=bench", now)
                out.write(f"/t/c/{token}\n")
            else:
                out.write(f"/t/o/{open_token(SECRET, did, now)}.gif\n")
    signer = EventWebhookSigner()
    bodies = folder / "posts.tsv"
    stamp = int(time.time())
    with bodies.open("w") as out:
        for p in range(posts):
            events = [
                {
                    "event": "delivered",
                    "timestamp": stamp,
                    "sg_event_id": uuid.uuid4().hex,
                    "delivery_id": str(ids[(p * EVENTS_PER_POST + e) % len(ids)]),
                    "email": "x@example.com",
                }
                for e in range(EVENTS_PER_POST)
            ]
            body, headers = signer.signed(events, stamp)
            out.write(
                f"{headers['X-Twilio-Email-Event-Webhook-Timestamp']}\t"
                f"{headers['X-Twilio-Email-Event-Webhook-Signature']}\t{body.decode()}\n"
            )
    return paths, bodies, signer.public_key_b64


def ingest(url: str, writes: str, seconds: int, workers: int, connections: int) -> dict[str, Any]:
    """Drive the endpoints of one server for `seconds` per phase; count what was stored."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        posts = seconds * 400
        paths, bodies, key = _inputs(url, folder, posts=posts)
        get_script, post_script = folder / "get.lua", folder / "post.lua"
        get_script.write_text(GET_SCRIPT % BROWSER)
        post_script.write_text(POST_SCRIPT)
        port = free_port()
        server = _serve(
            url,
            port,
            {
                "CE_TRACKING_WRITES": writes,
                "CE_WEB_WORKERS": str(workers),
                "CE_SENDGRID_WEBHOOK_KEY": key,
            },
        )
        try:
            _wrk(port, get_script, paths, 2, connections)  # warm up every worker
            time.sleep(1.0)  # let the warm-up's buffered events reach the database
            before = _counts(url)
            hits = _wrk(port, get_script, paths, seconds, connections)
            webhooks = _wrk(port, post_script, bodies, seconds, 4)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    after = _counts(url)
    stored_hits = sum(after.get(s, 0) - before.get(s, 0) for s in ("pixel", "redirect"))
    stored_posts = after.get("sendgrid", 0) - before.get("sendgrid", 0)
    # Posts beyond the prepared ones are replays, which count once by design.
    answered_events = min(webhooks["requests"], posts) * EVENTS_PER_POST
    return {
        "writes": writes,
        "opens_clicks_per_s": round(hits["requests"] / seconds),
        "opens_clicks_p99_ms": hits["p99_ms"],
        "webhook_events_per_s": round(webhooks["requests"] * EVENTS_PER_POST / seconds),
        "webhook_post_p99_ms": webhooks["p99_ms"],
        "errors": hits["errors"] + webhooks["errors"],
        # Answered but not stored. Requests in flight when wrk stops are stored but never
        # counted as answered, so stored may exceed answered by up to one per connection.
        "lost_opens_clicks": max(0, hits["requests"] - stored_hits),
        "lost_webhook_events": max(0, answered_events - stored_posts),
        "stored_unanswered": max(0, stored_hits - hits["requests"])
        + max(0, stored_posts - answered_events),
    }


def roi_seconds(scale: float) -> tuple[float, int, dict[str, Any]]:
    """Return the median time of the ROI report of the store's campaign, and the report."""
    url, campaign_id, members = build_store(scale)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    times: list[float] = []
    report: Any = None
    for _ in range(5):
        with transaction(sessions) as session:
            started = time.perf_counter()
            report = campaign_roi(session, campaign_id)
            times.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(times), members, report.as_dict()


def main() -> None:
    """Run both measurements and print one JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a 1M-member campaign")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    roi_s, members, report = roi_seconds(args.scale)
    incremental = report["incremental"]
    print(f"ROI report of {members:,} members: median {roi_s:.3f}s", file=sys.stderr)
    url, _, _ = build_store(0.02)
    runs = {}
    for writes in ("buffered", "direct"):
        runs[writes] = ingest(url, writes, args.seconds, args.workers, args.connections)
        print(json.dumps(runs[writes]), file=sys.stderr)
    best = runs["buffered"]
    print(
        json.dumps(
            {
                "benchmark": "tracking",
                "workers": args.workers,
                "opens_clicks_per_s": best["opens_clicks_per_s"],
                "opens_clicks_p99_ms": best["opens_clicks_p99_ms"],
                "webhook_events_per_s": best["webhook_events_per_s"],
                "webhook_post_p99_ms": best["webhook_post_p99_ms"],
                "lost": best["lost_opens_clicks"] + best["lost_webhook_events"],
                "baseline_direct_opens_clicks_per_s": runs["direct"]["opens_clicks_per_s"],
                "baseline_direct_p99_ms": runs["direct"]["opens_clicks_p99_ms"],
                "buffered_vs_direct": round(
                    best["opens_clicks_per_s"] / max(runs["direct"]["opens_clicks_per_s"], 1), 2
                ),
                "roi_members": members,
                "roi_report_median_s": round(roi_s, 3),
                "roi_incremental_conversions": incremental.get("conversions"),
                "roi_planted_incremental_conversions": round(members / 2 * 0.02),
                "targets": {
                    "events_per_s": TARGET_EVENTS,
                    "p99_ms": TARGET_P99_MS,
                    "roi_s": TARGET_ROI_S,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
