"""SendGrid's signed Event Webhook: verification with real keys, and what each event becomes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.errors import Forbidden
from campaign_engine.fakes.webhook_posts import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    EventWebhookSigner,
)
from campaign_engine.tracking.provider_events import MalformedWebhook, WebhookNotConfigured
from campaign_engine.tracking.sendgrid_events import parse_events, verify_signature

MAX_AGE = 600
BODY = json.dumps([{"event": "delivered", "delivery_id": "7", "timestamp": 1_700_000_000}])


@pytest.fixture(scope="module")
def signer() -> EventWebhookSigner:
    return EventWebhookSigner()


def check(
    key: str, body: bytes, headers: dict[str, str], now: float | None = None, max_age: int = 600
) -> None:
    verify_signature(
        key,
        body,
        headers.get(SENDGRID_SIGNATURE),
        headers.get(SENDGRID_TIMESTAMP),
        time.time() if now is None else now,
        max_age,
    )


def test_a_body_signed_with_the_configured_key_is_accepted(signer: EventWebhookSigner) -> None:
    body = BODY.encode()
    check(signer.public_key_b64, body, signer.headers(body))


def test_the_key_may_be_given_as_pem(signer: EventWebhookSigner) -> None:
    der = base64.b64decode(signer.public_key_b64)
    public = serialization.load_der_public_key(der)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    body = BODY.encode()
    check(pem, body, signer.headers(body))


def test_a_tampered_body_is_refused(signer: EventWebhookSigner) -> None:
    headers = signer.headers(BODY.encode())
    with pytest.raises(Forbidden, match="does not match"):
        check(signer.public_key_b64, BODY.replace('"7"', '"8"').encode(), headers)


def test_a_signature_by_another_key_is_refused(signer: EventWebhookSigner) -> None:
    body = BODY.encode()
    with pytest.raises(Forbidden, match="does not match"):
        check(signer.public_key_b64, body, EventWebhookSigner().headers(body))


def test_a_changed_timestamp_breaks_the_signature(signer: EventWebhookSigner) -> None:
    body = BODY.encode()
    headers = signer.headers(body)
    headers[SENDGRID_TIMESTAMP] = str(int(headers[SENDGRID_TIMESTAMP]) - 1)
    with pytest.raises(Forbidden, match="does not match"):
        check(signer.public_key_b64, body, headers)


@pytest.mark.parametrize("offset", [-601, 601], ids=["stale", "ahead"])
def test_a_timestamp_outside_the_allowed_age_is_refused(
    signer: EventWebhookSigner, offset: int
) -> None:
    body = BODY.encode()
    now = time.time()
    headers = signer.headers(body, timestamp=int(now) + offset)
    with pytest.raises(Forbidden, match="600 seconds"):
        check(signer.public_key_b64, body, headers, now=now, max_age=MAX_AGE)


@pytest.mark.parametrize(
    "change",
    [
        {SENDGRID_SIGNATURE: None},
        {SENDGRID_TIMESTAMP: None},
        {SENDGRID_SIGNATURE: ""},
        {SENDGRID_SIGNATURE: "not base64!"},
        {SENDGRID_SIGNATURE: base64.b64encode(b"\x30\x02\x01").decode()},
        {SENDGRID_TIMESTAMP: "yesterday"},
        {SENDGRID_TIMESTAMP: "\u0661\u0667" + "\u0660" * 8},  # digits, but not ASCII ones
    ],
    ids=[
        "no-signature",
        "no-timestamp",
        "empty-signature",
        "bad-base64",
        "bad-der",
        "word-timestamp",
        "arabic-digits",
    ],
)
def test_missing_or_garbled_headers_are_refused(
    signer: EventWebhookSigner, change: dict[str, str | None]
) -> None:
    body = BODY.encode()
    headers = {**signer.headers(body), **change}
    present = {k: v for k, v in headers.items() if v is not None}
    with pytest.raises(Forbidden):
        check(signer.public_key_b64, body, present)


@pytest.mark.parametrize("key", ["", "   ", "not a key", base64.b64encode(b"junk").decode()])
def test_a_missing_or_unusable_key_says_the_webhook_is_not_configured(
    signer: EventWebhookSigner, key: str
) -> None:
    body = BODY.encode()
    with pytest.raises(WebhookNotConfigured, match="CE_SENDGRID_WEBHOOK_KEY"):
        check(key, body, signer.headers(body))


def test_a_key_on_another_curve_is_unusable() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = other.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(WebhookNotConfigured, match="P-256"):
        check(base64.b64encode(der).decode(), b"[]", {})


def sendgrid(event: str, **fields: Any) -> dict[str, Any]:
    return {"event": event, "delivery_id": "5", "timestamp": 1_700_000_000, **fields}


@pytest.mark.parametrize(
    ("event", "kind", "hard", "hint"),
    [
        (sendgrid("delivered", sg_event_id="a"), "delivered", False, None),
        (sendgrid("bounce", type="bounce"), "bounce", True, None),
        (sendgrid("bounce"), "bounce", True, None),
        (sendgrid("bounce", type="blocked"), "bounce", False, None),
        (sendgrid("dropped", reason="Bounced Address"), "dropped", False, None),
        (sendgrid("deferred", response="400 try again later"), "deferred", False, None),
        (sendgrid("spamreport"), "spam_report", False, None),
        (sendgrid("open", sg_machine_open=False), "open", False, None),
        (sendgrid("open", sg_machine_open=True), "open", False, "provider_machine_open"),
        (sendgrid("click", url="https://shop.example/x"), "click", False, None),
        (sendgrid("unsubscribe"), "unsubscribe", False, None),
        (sendgrid("group_unsubscribe", asm_group_id=3), "unsubscribe", False, None),
    ],
)
def test_each_sendgrid_event_becomes_our_kind(
    event: dict[str, Any], kind: str, hard: bool, hint: str | None
) -> None:
    batch = parse_events(json.dumps([event]).encode())
    assert batch.ignored == 0
    (raw,) = batch.events
    assert (raw.delivery_id, raw.kind, raw.hard_bounce, raw.machine_hint) == (5, kind, hard, hint)
    assert raw.source == "sendgrid"
    assert raw.occurred_at.timestamp() == 1_700_000_000
    assert raw.url == ("https://shop.example/x" if kind == "click" else None)


def test_an_event_is_deduplicated_by_its_sendgrid_event_id() -> None:
    batch = parse_events(json.dumps([sendgrid("open", sg_event_id="abc")] * 2).encode())
    assert [e.dedupe_key for e in batch.events] == ["abc", "abc"]
    without_id = parse_events(json.dumps([sendgrid("open")] * 2).encode())
    keys = {e.dedupe_key for e in without_id.events}
    assert len(keys) == 1 and None not in keys


@pytest.mark.parametrize(
    "event",
    [
        {"event": "processed", "delivery_id": "5", "timestamp": 1},
        {"event": "delivered", "timestamp": 1},
        {"event": "delivered", "delivery_id": "abc", "timestamp": 1},
        {"event": "delivered", "delivery_id": "5.5", "timestamp": 1},
        {"event": "delivered", "delivery_id": -5, "timestamp": 1},
        {"event": "delivered", "delivery_id": True, "timestamp": 1},
        {"event": "delivered", "delivery_id": str(2**64), "timestamp": 1},
        {"event": "delivered", "delivery_id": "5", "timestamp": "soon"},
        {"event": "delivered", "delivery_id": "5", "timestamp": 10**20},
        {"event": ["delivered"], "delivery_id": "5", "timestamp": 1},
        "delivered",
        None,
    ],
)
def test_events_we_cannot_use_are_ignored_and_counted(event: Any) -> None:
    batch = parse_events(json.dumps([event]).encode())
    assert (batch.events, batch.ignored) == ([], 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"event": "delivered"}', "JSON array"),
        (b"", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_an_array_of_events_is_malformed(body: bytes, message: str) -> None:
    with pytest.raises(MalformedWebhook, match=message):
        parse_events(body)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_malformed(body: bytes) -> None:
    try:
        batch = parse_events(body)
    except MalformedWebhook:
        return
    assert batch.ignored >= 0
