"""Verify SendGrid's signed Event Webhook and turn its events into `RawEvent`s.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64 DER
signature and the Unix timestamp in two headers; the verification key is the public key the
Event Webhook settings page shows (`CE_SENDGRID_WEBHOOK_KEY`). Our custom arg `delivery_id`
comes back at the top level of every event, which is how an event finds its delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from campaign_engine.errors import Forbidden
from campaign_engine.tracking.provider_events import (
    MalformedWebhook,
    ProviderBatch,
    WebhookNotConfigured,
    clean_text,
    dedupe_key,
    delivery_id,
)
from campaign_engine.tracking.record import RawEvent

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
SOURCE = "sendgrid"
# SendGrid's event names → ours; anything else (`processed`, account events) is ignored.
KINDS = {
    "delivered": "delivered",
    "bounce": "bounce",
    "dropped": "dropped",
    "deferred": "deferred",
    "spamreport": "spam_report",
    "open": "open",
    "click": "click",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
}
DETAIL_FIELDS = ("type", "bounce_classification", "status", "reason", "response")


def read_sendgrid_webhook(
    public_key: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float,
    max_age_seconds: int,
) -> ProviderBatch:
    """Verify a signed Event Webhook request and return its events; raise if untrusted."""
    verify_signature(public_key, body, signature, timestamp, now, max_age_seconds)
    return parse_events(body)


def verify_signature(
    public_key: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float,
    max_age_seconds: int,
) -> None:
    """Raise unless `signature` is SendGrid's over `timestamp + body` and is recent enough."""
    if not public_key.strip():
        raise WebhookNotConfigured("CE_SENDGRID_WEBHOOK_KEY is not set")
    key = load_public_key(public_key)
    if not signature or not timestamp:
        raise Forbidden(f"the request lacks the {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Forbidden(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    # Refused both ways: a replay of an old request, or a clock far off.
    if abs(now - int(timestamp)) > max_age_seconds:
        raise Forbidden(f"the webhook is more than {max_age_seconds} seconds old (or ahead)")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Forbidden("the webhook signature does not match CE_SENDGRID_WEBHOOK_KEY") from None


@lru_cache(maxsize=4)
def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """Return the P-256 public key in `text`: base64 DER as SendGrid shows it, or PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm, binascii.Error):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WebhookNotConfigured(
            "CE_SENDGRID_WEBHOOK_KEY is not an ECDSA P-256 public key "
            "(paste the verification key from SendGrid's Event Webhook settings)"
        )
    return key


def parse_events(body: bytes) -> ProviderBatch:
    """Return the events of an Event Webhook body; ignore (and count) those we cannot use."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise MalformedWebhook(f"the body is not valid JSON: {str(err)[:200]}") from None
    if not isinstance(payload, list):
        raise MalformedWebhook("the body must be a JSON array of SendGrid events")
    events: list[RawEvent] = []
    for item in payload:
        event = _event(item) if isinstance(item, dict) else None
        if event is not None:
            events.append(event)
    return ProviderBatch(events, ignored=len(payload) - len(events))


def _event(item: dict[str, Any]) -> RawEvent | None:
    name = item.get("event")
    kind = KINDS.get(name) if isinstance(name, str) else None
    did = delivery_id(item.get("delivery_id"))
    occurred_at = _time(item.get("timestamp"))
    if kind is None or did is None or occurred_at is None:
        return None
    details = (clean_text(item.get(f)) for f in DETAIL_FIELDS)
    return RawEvent(
        delivery_id=did,
        kind=kind,
        occurred_at=occurred_at,
        source=SOURCE,
        dedupe_key=_dedupe_key(item),
        url=clean_text(item.get("url")) if kind == "click" else None,
        user_agent=clean_text(item.get("useragent")) or "",
        detail="; ".join(d for d in details if d),
        machine_hint="provider_machine_open"
        if kind == "open" and item.get("sg_machine_open") is True
        else None,
        # "bounce" is permanent; "blocked" (and anything else) is a soft bounce.
        hard_bounce=kind == "bounce" and item.get("type", "bounce") == "bounce",
    )


def _time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dedupe_key(item: dict[str, Any]) -> str:
    """Return the event's `sg_event_id`, or a digest of the whole event when it has none."""
    event_id = clean_text(item.get("sg_event_id"))
    if event_id:
        return dedupe_key("sg", event_id)
    digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
    return f"sg:{digest}"
