"""The attribution models: which touches qualify for an order and how each model credits them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# On equal times the stronger touch wins; a stronger kind never beats a more recent touch.
STRENGTH = {"click": 3, "open": 2, "delivery": 1}


@dataclass(frozen=True)
class Windows:
    """How long after each kind of touch a campaign claims an order."""

    click: timedelta
    open: timedelta
    delivery: timedelta

    @classmethod
    def of_days(cls, click: int, open_: int, delivery: int) -> Windows:
        """Return windows from whole days, as campaigns store them."""
        return cls(timedelta(days=click), timedelta(days=open_), timedelta(days=delivery))


@dataclass(frozen=True)
class Sent:
    """A sent marketing message's first human responses, as the delivery ledger keeps them."""

    delivery_id: int
    campaign_id: int
    sent_at: datetime
    delivered_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    bounced_at: datetime | None = None


@dataclass(frozen=True)
class Touch:
    """One moment a campaign reached the contact: a click, an open, a delivery, or a code."""

    kind: str
    campaign_id: int
    delivery_id: int | None
    at: datetime | None


@dataclass(frozen=True)
class Credit:
    """The share (`weight`) of an order that one model gives one campaign, for one touch."""

    model: str
    touch: Touch
    weight: float


def touches_of(sent: Sent, windows: Windows, ordered_at: datetime) -> list[Touch]:
    """Return the message's touches that fall within their windows before `ordered_at`.

    The delivery touch is the delivered event, or the send when no event came; a bounced
    message without a delivered event reached no one.
    """
    delivered = sent.delivered_at
    if delivered is None and sent.bounced_at is None:
        delivered = sent.sent_at
    moments = (
        ("click", sent.clicked_at, windows.click),
        ("open", sent.opened_at, windows.open),
        ("delivery", delivered, windows.delivery),
    )
    return [
        Touch(kind, sent.campaign_id, sent.delivery_id, at)
        for kind, at, window in moments
        if at is not None and ordered_at - window <= at < ordered_at
    ]


def credit_touches(touches: Sequence[Touch]) -> list[Credit]:
    """Credit an order under every model from its qualifying touches (none: no credit).

    Last touch takes the most recent touch, first touch the earliest (on equal times the
    stronger kind); linear gives every touched campaign an equal share, through its strongest,
    then latest, touch.
    """
    if not touches:
        return []
    last = max(touches, key=lambda t: (_at(t), STRENGTH[t.kind], t.delivery_id or 0))
    first = min(touches, key=lambda t: (_at(t), -STRENGTH[t.kind], t.delivery_id or 0))
    best: dict[int, Touch] = {}
    for touch in touches:
        held = best.get(touch.campaign_id)
        if held is None or _strongest(touch) > _strongest(held):
            best[touch.campaign_id] = touch
    share = 1 / len(best)
    return [
        Credit("last_touch", last, 1.0),
        Credit("first_touch", first, 1.0),
        *(Credit("linear", best[c], share) for c in sorted(best)),
    ]


def credit_code(touch: Touch) -> list[Credit]:
    """Credit a whole order to the campaign its code names, under every model."""
    return [Credit(model, touch, 1.0) for model in ("last_touch", "first_touch", "linear")]


def latest_moment(sent: Sent, before: datetime) -> datetime | None:
    """Return the message's latest send or response time before `before`."""
    moments = [sent.sent_at, sent.delivered_at, sent.opened_at, sent.clicked_at]
    earlier = [m for m in moments if m is not None and m < before]
    return max(earlier) if earlier else None


def split_money(amount: float, weights: Sequence[float]) -> list[float]:
    """Split `amount` by `weights` into cents that add up to the weighted total exactly."""
    cents = round(amount * 100)
    exact = [cents * w for w in weights]
    shares = [math.floor(x) for x in exact]
    # The cents rounding leaves over go one each to the shares that lost the most.
    behind = sorted(range(len(exact)), key=lambda i: shares[i] - exact[i])
    for i in behind[: round(sum(exact)) - sum(shares)]:
        shares[i] += 1
    return [share / 100 for share in shares]


def _at(touch: Touch) -> datetime:
    assert touch.at is not None  # only code touches go without a time
    return touch.at


def _strongest(touch: Touch) -> tuple[int, datetime]:
    return STRENGTH[touch.kind], _at(touch)
