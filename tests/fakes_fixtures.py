"""Factories for outbound messages used by the channel tests."""

from __future__ import annotations

from campaign_engine.channels.base import OutboundMessage

UNSUBSCRIBE = "<https://ce.example/u/abc>, <mailto:unsub@ce.example?subject=abc>"


def email_message(delivery_id: int, **overrides: object) -> OutboundMessage:
    """Return a personalised email for contact number `delivery_id`."""
    fields: dict[str, object] = {
        "delivery_id": delivery_id,
        "channel": "email",
        "to": f"contact{delivery_id}@example.com",
        "to_name": f"Contact {delivery_id}",
        "subject": f"Hello {delivery_id}, your offer",
        "text": f"Plain offer for contact {delivery_id}",
        "html": f"<p>Offer for <b>contact {delivery_id}</b></p>",
        "headers": {
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "categories": ("spring-sale",),
        "campaign_code": "SPRING",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def sms_message(delivery_id: int, to: str = "+14155550100", text: str = "Hi!") -> OutboundMessage:
    """Return an SMS for `to`."""
    return OutboundMessage(delivery_id=delivery_id, channel="sms", to=to, text=text)


def social_message(delivery_id: int, text: str = "New arrivals") -> OutboundMessage:
    """Return a social post for an external contact id."""
    return OutboundMessage(
        delivery_id=delivery_id,
        channel="social",
        to=f"ext-{delivery_id}",
        text=text,
        campaign_code="SPRING",
    )
