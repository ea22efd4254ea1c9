"""Build the tracking benchmark's PostgreSQL store: a sent 1M-member campaign with outcomes.

Kept between runs in schema `bench_tracking_<scale>`. Written with INSERT ... SELECT over
generate_series, so a million members take seconds. Half the members are treated (sent,
delivered; 20% open, 2% click, 1% bounce), half held out; 5% of held-out and 7% of treated
members buy within the outcome window (so the planted effect is 2 points: 10,000 incremental
buyers at 1M members), a third of treated buyers' orders carry the campaign code, and every
treated buyer's order is attributed (by code or delivery).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from campaign_engine.db import make_engine, make_session_factory, transaction
from campaign_engine.models import Campaign, CampaignRun, MessageTemplate
from campaign_engine.schema import upgrade

PG_URL = os.environ.get("CE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CODE = "BENCH-ROI"
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def schema_name(scale: float) -> str:
    """Return the benchmark schema for `scale`."""
    return f"bench_tracking_{str(scale).replace('.', '_')}"


def store_url(scale: float) -> str:
    """Return the URL of the benchmark schema for `scale`."""
    return f"{PG_URL}?options=-csearch_path%3D{schema_name(scale)}"


def _campaign(engine: Engine) -> tuple[int, int, int]:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        found = session.scalar(select(Campaign).where(Campaign.code == CODE))
        if found is None:
            template = MessageTemplate(name="bench", channel="email", subject="Hi", html="<p>x</p>")
            found = Campaign(
                code=CODE,
                name="Benchmark: 1M-member campaign",
                channel="email",
                status="completed",
                started_at=START,
                cost=5000.0,
                holdout_percent=50,
                outcome_days=14,
            )
            session.add_all([template, found])
            session.flush()
            run = CampaignRun(campaign_id=found.id, due_at=START, status="completed")
            session.add(run)
            session.flush()
            return found.id, run.id, template.id
        run_id = session.scalar(select(CampaignRun.id).where(CampaignRun.campaign_id == found.id))
        template_id = session.scalar(
            select(MessageTemplate.id).where(MessageTemplate.name == "bench")
        )
        assert run_id is not None and template_id is not None
        return found.id, run_id, template_id


FILL = """
INSERT INTO contacts (id, external_id, email, lifecycle_stage, attributes, created_at, updated_at)
SELECT g, 'c' || g, 'c' || g || '@example.com', 'customer', '{{}}', :start - interval '400 days',
       :start - interval '400 days'
FROM generate_series(1, :n) g;
SELECT setval(pg_get_serial_sequence('contacts', 'id'), :n);
INSERT INTO products (id, sku, name, category, price, unit_cost, active, attributes, created_at,
                      updated_at)
SELECT g, 'SKU' || g, 'Product ' || g, 'cat' || (g % 10), 20 + g % 50, 10 + g % 20, true, '{{}}',
       :start, :start
FROM generate_series(1, 100) g;
INSERT INTO campaign_members (campaign_id, contact_id, "group", variant, assigned_at)
SELECT {campaign}, g, CASE WHEN g % 2 = 0 THEN 'treatment' ELSE 'control' END,
       CASE WHEN g % 2 = 0 THEN 'A' END, :start
FROM generate_series(1, :n) g;
INSERT INTO deliveries (key, run_id, campaign_id, contact_id, channel, variant, template_id,
                        purpose, address, status, planned_at, not_before, attempts, sent_at,
                        cost, delivered_at, opened_at, clicked_at, bounced_at)
SELECT 'bench:' || g, {run}, {campaign}, g, 'email', 'A', {template}, 'marketing',
       'c' || g || '@example.com', 'accepted', :start, :start, 1, :start, 0.001,
       CASE WHEN g % 97 <> 0 THEN :start + interval '1 minute' END,
       CASE WHEN g % 10 IN (2, 4) THEN :start + interval '2 hours' END,
       CASE WHEN g % 50 = 2 THEN :start + interval '2 hours 5 minutes' END,
       CASE WHEN g % 97 = 0 THEN :start + interval '1 minute' END
FROM generate_series(2, :n, 2) g;
INSERT INTO orders (id, external_id, contact_id, ordered_at, currency, revenue, cost,
                    campaign_code, created_at)
SELECT g, 'o' || g, g, :start + (g % 13 + 1) * interval '1 day', 'USD', 40 + g % 60,
       20 + g % 30, CASE WHEN g % 2 = 0 AND g % 3 = 0 THEN '{code}' END, :start
FROM generate_series(1, :n) g
WHERE (g % 2 = 1 AND g % 200 < 10) OR (g % 2 = 0 AND g % 200 < 13);
INSERT INTO order_lines (order_id, line_number, product_id, quantity, unit_price, unit_cost)
SELECT id, 1, id % 100 + 1, 1, revenue, cost FROM orders;
INSERT INTO orders (id, external_id, contact_id, ordered_at, currency, revenue, cost, created_at)
SELECT :n + g, 'p' || g, g, :start - (g % 300 + 1) * interval '1 day', 'USD', 50, 25, :start
FROM generate_series(1, :n, 3) g;
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
INSERT INTO order_attributions (order_id, model, campaign_id, delivery_id, contact_id, touch,
                                touched_at, ordered_at, weight, revenue, margin)
SELECT o.id, 'last_touch', {campaign}, d.id, o.contact_id,
       CASE WHEN o.campaign_code IS NOT NULL THEN 'code' ELSE 'delivery' END, d.sent_at,
       o.ordered_at, 1, o.revenue, o.revenue - o.cost
FROM orders o JOIN deliveries d ON d.contact_id = o.contact_id AND d.campaign_id = {campaign}
WHERE o.ordered_at >= :start AND o.ordered_at < :start + interval '14 days';
ANALYZE;
"""


def build_store(scale: float) -> tuple[str, int, int]:
    """Create the store once (kept between runs); return its URL, campaign id and size."""
    members = int(1_000_000 * scale)
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema_name(scale)}"))
    admin.dispose()
    url = store_url(scale)
    engine = make_engine(url)
    upgrade(engine)
    campaign, run, template = _campaign(engine)
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM campaign_members")).scalar_one()
        if have < members:
            conn.execute(text("TRUNCATE contacts, products, orders CASCADE"))
            sql = FILL.format(campaign=campaign, run=run, template=template, code=CODE)
            for statement in filter(str.strip, sql.split(";")):
                conn.execute(text(statement), {"n": members, "start": START})
    engine.dispose()
    return url, campaign, members


def until(days: int) -> datetime:
    """Return the end of the outcome window `days` after the send."""
    return START + timedelta(days=days)
