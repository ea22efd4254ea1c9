"""The demo campaign's message trail: its template, its run, one tracked email per treated member.

The past campaign (demo/campaign.py) decides who was treated and who bought; this adds what
tracking would have seen: each treated member's email delivered (or bounced), opened and
clicked with chances that rise when the member went on to buy, a few unsubscribes and spam
complaints. Opens and clicks are stored as each delivery's first times, as tracking keeps
them; the attribution job then credits orders to these touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np

from campaign_engine.demo.campaign import CAMPAIGN_CODE, COST_PER_EMAIL
from campaign_engine.demo.population import DAY
from campaign_engine.demo.rows import Row, TableRows, contact_email, spans
from campaign_engine.demo.store import DemoStore

CAMPAIGN_ID = 1
RUN_ID = 1
TEMPLATE_ID = 1
BOUNCE, UNSUBSCRIBE, COMPLAINT = 0.015, 0.004, 0.0008
OPEN, OPEN_IF_BOUGHT = 0.22, 0.55
CLICK_IF_OPENED, CLICK_IF_OPENED_AND_BOUGHT = 0.15, 0.6
TEMPLATE_HTML = """<p>Hello {{ contact.first_name | fallback("there") }},</p>
<p>This month only: 15% off everything in our store, with code {{ campaign.code }}.</p>
<p><a href="https://shop.example/offer?utm_campaign={{ campaign.code }}">Shop the offer</a></p>
<p style="font-size:12px"><a href="{{ unsubscribe_url }}">Unsubscribe</a> ·
{{ sender.name }}, {{ sender.postal_address }}</p>
"""


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def template_rows(store: DemoStore) -> TableRows:
    """Return the past campaign's email template."""
    row: Row = {
        "id": TEMPLATE_ID,
        "name": "Demo: past email offer",
        "kind": "message",
        "channel": "email",
        "purpose": "marketing",
        "description": "The message of the demo's past randomised campaign.",
        "subject": "{{ contact.first_name | fallback('Hello') }}, 15% off this month",
        "html": TEMPLATE_HTML,
        "text": None,
        "created_at": _at(store.campaign.start - 7 * DAY),
        "updated_at": _at(store.campaign.start - 7 * DAY),
    }
    return TableRows("message_templates", 1, lambda size: iter([[row]]))


def run_rows(store: DemoStore) -> TableRows:
    """Return the past campaign's one completed run."""
    truth = store.campaign
    row: Row = {
        "id": RUN_ID,
        "campaign_id": CAMPAIGN_ID,
        "due_at": _at(truth.start),
        "status": "completed",
        "kind": "scheduled",
        "prepared_through": int(truth.member.max()) + 1 if len(truth.member) else 0,
        "prepared_at": _at(truth.start),
        "finished_at": _at(truth.start + 3600),
    }
    return TableRows("campaign_runs", 1, lambda size: iter([[row]]))


def delivery_rows(store: DemoStore) -> TableRows:
    """Return one email per treated member, with its tracked first times."""
    truth = store.campaign
    treated = truth.member[truth.treated]
    bought = truth.purchased[truth.treated]
    n = len(treated)
    rng = np.random.default_rng(truth.start % 100_003 + n)
    sent = truth.start + rng.integers(0, 1800, n)
    bounced = rng.random(n) < BOUNCE
    opened = ~bounced & (rng.random(n) < np.where(bought, OPEN_IF_BOUGHT, OPEN))
    clicked = opened & (
        rng.random(n) < np.where(bought, CLICK_IF_OPENED_AND_BOUGHT, CLICK_IF_OPENED)
    )
    opened_at = sent + rng.exponential(6 * 3600, n).astype(np.int64) + 60
    clicked_at = opened_at + rng.integers(5, 600, n)
    unsubscribed = opened & (rng.random(n) < UNSUBSCRIBE / OPEN)
    complained = ~bounced & ~unsubscribed & (rng.random(n) < COMPLAINT)

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(n, size):
            rows: list[Row] = []
            for k in range(span.start, span.stop):
                contact = int(treated[k])
                at = _at(sent[k])
                rows.append(
                    {
                        "key": f"{CAMPAIGN_CODE}:{RUN_ID}:{contact + 1}:email:A",
                        "run_id": RUN_ID,
                        "campaign_id": CAMPAIGN_ID,
                        "contact_id": contact + 1,
                        "channel": "email",
                        "variant": "A",
                        "template_id": TEMPLATE_ID,
                        "purpose": "marketing",
                        "address": contact_email(store.population, contact) or "",
                        "status": "accepted",
                        "planned_at": _at(truth.start),
                        "not_before": _at(truth.start),
                        "attempts": 1,
                        "claimed_at": at,
                        "sent_at": at,
                        "provider_id": f"demo-{contact + 1}",
                        "cost": COST_PER_EMAIL,
                        "delivered_at": None if bounced[k] else _at(sent[k] + 20),
                        "bounced_at": _at(sent[k] + 20) if bounced[k] else None,
                        "opened_at": _at(opened_at[k]) if opened[k] else None,
                        "clicked_at": _at(clicked_at[k]) if clicked[k] else None,
                        "unsubscribed_at": _at(clicked_at[k] + 60) if unsubscribed[k] else None,
                        "complained_at": _at(opened_at[k] + 120) if complained[k] else None,
                    }
                )
            yield rows

    return TableRows("deliveries", n, chunks)
