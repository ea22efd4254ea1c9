"""Acceptance: send through SendGrid, track what recipients do, attribute, report it over the API.

Everything crosses real HTTP on loopback: the official SendGrid client posts to the fake, the
fake posts signed events to the app's webhook, a recipient unsubscribes with the one-click POST
of the sent message's List-Unsubscribe header and another clicks a tracked link from the sent
HTML, the storefront posts orders through the ingest API, and the report API reads it back.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.channels.sendgrid_email import SendGridEmail
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from campaign_engine.fakes.webhook_posts import BROWSER
from campaign_engine.models import CampaignMember, Contact, Delivery
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.tracking.attribution import attribute_new_orders
from tests.campaign_support import Clock, campaign_body, in_session, launch, make_runner, segment
from tests.factories import make_api_key
from tests.tracking_support import opted_in_contacts
from tests.webhook_support import SENDGRID, serving, with_webhook_secrets

CONTACTS = 24
HOLDOUT_PERCENT = 40
LAMP: dict[str, Any] = {
    "sku": "LAMP-1",
    "name": "Desk lamp",
    "category": "home",
    "price": 80,
    "unit_cost": 30,
}


def on_this_server(base_url: str, url: str) -> str:
    """Return `url` (made with the configured public URL) pointed at the served app instead."""
    parts = urlsplit(url)
    return f"{base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def one_click_url(header: str) -> str:
    """Return the https URL of a List-Unsubscribe header (the one RFC 8058 one-click POSTs to)."""
    found = re.search(r"<(https?://[^>]+)>", header)
    assert found, header
    return found.group(1)


def tracked_link(html: str) -> str:
    """Return the first tracked (/t/c/) link of a sent message's HTML."""
    found = re.search(r'href="([^"]+/t/c/[^"]+)"', html)
    assert found, html
    return found.group(1).replace("&amp;", "&")


def external_ids(session: Session, campaign_id: int) -> tuple[dict[int, str], list[str]]:
    """Return the external ids of the delivered-to contacts by delivery id, and of the holdout."""
    by_delivery = dict(
        session.execute(
            select(Delivery.id, Contact.external_id)
            .join(Contact, Contact.id == Delivery.contact_id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
    )
    held_out = session.scalars(
        select(Contact.external_id)
        .join(CampaignMember, CampaignMember.contact_id == Contact.id)
        .where(CampaignMember.campaign_id == campaign_id, CampaignMember.group == "control")
        .order_by(Contact.id)
    ).all()
    return by_delivery, list(held_out)


def order(order_id: str, contact: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "contact_id": contact,
        "ordered_at": utcnow().isoformat(),
        "lines": [{"sku": LAMP["sku"], "quantity": 1, "unit_price": 80}],
    }


def test_a_sendgrid_campaign_reports_opens_clicks_unsubscribes_bounces_and_a_sale(
    runtime: Runtime,
) -> None:
    start = utcnow() - timedelta(hours=2)  # recent: tracked links are fresh, orders in window

    def set_up(session: Session) -> tuple[int, str]:
        opted_in_contacts(session, CONTACTS)
        everyone = segment(session)
        audience = {"segments": [everyone], "holdout_percent": HOLDOUT_PERCENT}
        body = campaign_body(session, everyone, audience=audience, fixed_cost=20)
        return launch(session, body, now=start), make_api_key(session, "ingest", "read")[1]

    with (
        FakeSendGrid() as fake,
        serving(with_webhook_secrets(runtime, fake.public_key_b64)) as base_url,
    ):
        campaign_id, key = in_session(runtime, set_up)
        auth = {"Authorization": f"Bearer {key}"}
        channel = SendGridEmail(fake.api_key, "news@shop.example", host=fake.url, timeout=5)
        try:
            runner, _ = make_runner(
                runtime, Clock(start), {"email": channel}, quiet_start=time(0), quiet_end=time(0)
            )
            runner.tick()
        finally:
            channel.close()
        sent = {int(record["delivery_id"]): record for record in fake.received()}
        contact_of, held_out = in_session(runtime, lambda s: external_ids(s, campaign_id))
        assert len(sent) + len(held_out) == CONTACTS and len(sent) >= 5 and len(held_out) >= 2
        opener_clicker, link_clicker, opener, bounced, leaver = sorted(sent)[:5]

        # SendGrid reports delivered (all but one), opens, a click and a hard bounce, signed.
        events = fake.events_for_accepted(
            opens=[opener],
            clicks={opener_clicker: "https://shop.example/lamps"},
            bounces=[bounced],
            at=start + timedelta(minutes=1),
        )
        answer = fake.post_events(f"{base_url}{SENDGRID}", events)
        assert answer.status_code == 200, answer.text

        # One-click unsubscribe (RFC 8058), as a mail client does it from the header.
        header = sent[leaver]["headers"]
        assert header["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        leave = requests.post(
            on_this_server(base_url, one_click_url(header["List-Unsubscribe"])),
            data={"List-Unsubscribe": "One-Click"},
            timeout=10,
        )
        assert leave.status_code == 200 and "unsubscribed" in leave.text

        # A person clicks a tracked link in the HTML they were sent.
        click = requests.get(
            on_this_server(base_url, tracked_link(sent[link_clicker]["html"])),
            headers={"User-Agent": BROWSER},
            allow_redirects=False,
            timeout=10,
        )
        assert click.status_code == 302 and click.headers["Location"].startswith("https://")

        # The storefront posts the product and two orders: the clicker's and a held-out one's.
        batches: list[tuple[str, list[dict[str, Any]]]] = [
            ("products", [LAMP]),
            ("orders", [order("O-1", contact_of[link_clicker]), order("O-2", held_out[0])]),
        ]
        for kind, records in batches:
            posted = requests.post(
                f"{base_url}/api/v1/{kind}", json={"records": records}, headers=auth, timeout=10
            )
            assert posted.status_code == 200, posted.text
        assert in_session(runtime, lambda s: attribute_new_orders(s, utcnow())) == 2

        report = requests.get(
            f"{base_url}/api/v1/campaigns/{campaign_id}/report", headers=auth, timeout=30
        )
        assert report.status_code == 200, report.text
        body = report.json()

    totals = body["metrics"]["totals"]
    assert totals["sent"] == len(sent)
    assert totals["delivered"] == len(sent) - 1
    assert (totals["bounced"], totals["unsubscribed"]) == (1, 1)
    assert totals["opened"] == 3  # the opener, and both clickers (a click is also an open)
    assert totals["clicked"] == 2
    assert (totals["purchases"], totals["buyers"], totals["revenue"]) == (1, 1, 80)

    roi = body["roi"]
    attributed, incremental = roi["attributed"], roi["incremental"]
    assert attributed | {"roi": None, "margin_roi": None} == {
        "model": "last_touch",
        "purchases": 1,
        "buyers": 1,
        "revenue": 80,
        "margin": 50,
        "cost": roi["cost"],
        "roi": None,
        "margin_roi": None,
    }
    assert attributed["roi"] == pytest.approx((80 - roi["cost"]) / roi["cost"])
    assert (incremental["treated"]["buyers"], incremental["control"]["buyers"]) == (1, 1)
    assert incremental["control"]["contacts"] == len(held_out)
    for name in ("conversion_lift", "revenue_lift", "conversions", "revenue", "margin", "roi"):
        estimate = incremental[name]
        assert estimate["low"] <= estimate["value"] <= estimate["high"], name
    assert incremental["too_small"] is True
    assert incremental["too_small_reason"] == (
        f"the holdout has {len(held_out)} contacts; at least 100 are needed"
    )
    assert incremental["complete"] is False  # the seven-day window is still open
