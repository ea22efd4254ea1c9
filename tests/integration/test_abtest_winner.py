"""A/B winners are picked by tracked engagement and attributed revenue, not by acceptance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.abtest import pick_winner
from campaign_engine.models import Campaign, Delivery, OrderAttribution
from campaign_engine.runtime import Runtime
from campaign_engine.tracking.record import RawEvent, record_events
from tests.campaign_support import NOON, in_session, template_id
from tests.factories import make_order, make_product
from tests.tracking_support import sent_campaign

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
LATER = NOON + timedelta(hours=3)


def _two_variants(session: Session) -> list[dict[str, object]]:
    welcome = template_id(session, "welcome")
    return [
        {"name": name, "share": 50, "messages": [{"channel": "email", "template_id": welcome}]}
        for name in ("A", "B")
    ]


def _by_variant(runtime: Runtime, campaign_id: int) -> dict[str, list[int]]:
    def read(session: Session) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"A": [], "B": []}
        for did, variant in session.execute(
            select(Delivery.id, Delivery.variant)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Delivery.id)
        ):
            found[variant].append(did)
        return found

    return in_session(runtime, read)


@pytest.mark.parametrize(
    ("metric", "a_events", "b_events"),
    [
        ("open_rate", 1, 3),  # B opened more
        ("click_rate", 3, 1),  # A clicked more (B's opens don't count)
    ],
)
def test_winner_follows_tracked_engagement(
    runtime: Runtime, metric: str, a_events: int, b_events: int
) -> None:
    def variants(session: Session) -> list[dict[str, object]]:
        return _two_variants(session)

    sent = sent_campaign(runtime, 40, variants=in_session(runtime, variants))
    groups = _by_variant(runtime, sent.campaign_id)
    assert min(len(ids) for ids in groups.values()) >= 6
    kind = "open" if metric == "open_rate" else "click"
    events = [
        RawEvent(did, kind, LATER, "pixel", user_agent=BROWSER)
        for variant, count in (("A", a_events), ("B", b_events))
        for did in groups[variant][:count]
    ]
    # Machine opens of every A message must not decide anything.
    events += [RawEvent(did, "open", LATER, "pixel", user_agent="") for did in groups["A"]]
    in_session(runtime, lambda s: record_events(s, events))
    expected = "A" if a_events > b_events else "B"

    def pick(session: Session) -> tuple[str, str, dict[str, float | None]]:
        campaign = session.get_one(Campaign, sent.campaign_id)
        campaign.winner_metric = metric
        return pick_winner(session, campaign)

    winner, used, values = in_session(runtime, pick)
    assert (winner, used) == (expected, metric)
    assert values[expected] == max(a_events, b_events) / len(groups[expected])


def test_winner_by_attributed_revenue(runtime: Runtime) -> None:
    sent = sent_campaign(runtime, 20, variants=in_session(runtime, _two_variants))
    groups = _by_variant(runtime, sent.campaign_id)

    def buy(session: Session) -> tuple[str, str, dict[str, float | None]]:
        for variant, amount in (("A", 30.0), ("B", 120.0)):
            delivery = session.get_one(Delivery, groups[variant][0])
            product = make_product(session, f"SKU-{variant}", variant, amount)
            order = make_order(session, delivery.contact_id, LATER, [(product, 1)])
            session.add(
                OrderAttribution(
                    order_id=order.id,
                    model="last_touch",
                    campaign_id=sent.campaign_id,
                    delivery_id=delivery.id,
                    contact_id=delivery.contact_id,
                    touch="click",
                    touched_at=NOON,
                    ordered_at=LATER,
                    weight=1.0,
                    revenue=amount,
                    margin=amount / 2,
                )
            )
        campaign = session.get_one(Campaign, sent.campaign_id)
        campaign.winner_metric = "revenue"
        return pick_winner(session, campaign)

    winner, used, values = in_session(runtime, buy)
    assert (winner, used) == ("B", "revenue")
    assert values["B"] == pytest.approx(120.0 / len(groups["B"]))
