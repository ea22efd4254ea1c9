"""Webhooks the fake providers post back: SendGrid's signed events, Twilio's signed callbacks."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from campaign_engine.fakes.recording import Record

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE = "X-Twilio-Signature"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


class EventWebhookSigner:
    """An ECDSA P-256 key pair that signs Event Webhook bodies as SendGrid does."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key_b64(self) -> str:
        """Return the verification key as SendGrid's settings page shows it (base64 DER)."""
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Return the signature and timestamp headers for `body` (signed now by default)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            SENDGRID_SIGNATURE: base64.b64encode(signature).decode(),
            SENDGRID_TIMESTAMP: stamp,
            "Content-Type": "application/json",
        }

    def signed(
        self, events: Sequence[Mapping[str, Any]], timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Return the JSON body for `events` and the headers that sign it."""
        body = json.dumps(list(events)).encode()
        return body, self.headers(body, timestamp)


def sendgrid_events(
    records: Sequence[Record],
    opens: Collection[int] = (),
    clicks: Mapping[int, str] | Collection[int] = (),
    bounces: Collection[int] = (),
    blocked: Collection[int] = (),
    spam_reports: Collection[int] = (),
    machine_opens: Collection[int] = (),
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return Event Webhook events for accepted messages, chosen by their delivery ids.

    Every message is `processed`, then `delivered` unless it is in `bounces` (hard) or
    `blocked` (soft). Opens, clicks and spam reports follow a minute apart; `clicks` may map
    delivery ids to the URL clicked.
    """
    start = int(at.timestamp() if at else time.time())
    events: list[dict[str, Any]] = []
    for record in records:
        did = int(record["delivery_id"])

        def event(name: str, offset: int, record: Record = record, **extra: Any) -> None:
            events.append(_sendgrid_event(record, name, start + offset, **extra))

        event("processed", 0)
        if did in bounces or did in blocked:
            kind = "bounce" if did in bounces else "blocked"
            event("bounce", 1, type=kind, reason="550 5.1.1 The email account does not exist")
            continue
        event("delivered", 1, response="250 OK")
        if did in opens or did in clicks:
            event("open", 60, useragent=BROWSER, sg_machine_open=False)
        if did in machine_opens:
            event("open", 2, useragent="Mozilla/5.0", sg_machine_open=True)
        if did in clicks:
            url = clicks[did] if isinstance(clicks, Mapping) else "https://shop.example/offer"
            event("click", 120, useragent=BROWSER, url=url)
        if did in spam_reports:
            event("spamreport", 180)
    return events


def _sendgrid_event(record: Record, name: str, timestamp: int, **extra: Any) -> dict[str, Any]:
    return {
        "email": record["to"],
        "timestamp": timestamp,
        "smtp-id": f"<{record['message_id']}@fake.sendgrid>",
        "event": name,
        "category": record.get("categories", []),
        "sg_event_id": uuid.uuid4().hex[:22],
        "sg_message_id": f"{record['message_id']}.filter0001",
        **record.get("custom_args", {}),
        **extra,
    }


def twilio_signed(auth_token: str, url: str, form: Mapping[str, str]) -> dict[str, str]:
    """Return the `X-Twilio-Signature` header Twilio sends when it POSTs `form` to `url`."""
    return {TWILIO_SIGNATURE: RequestValidator(auth_token).compute_signature(url, form)}


def twilio_status_form(
    account_sid: str,
    message: Record | None,
    message_sid: str,
    status: str,
    error_code: str | int | None = None,
) -> dict[str, str]:
    """Return the parameters of Twilio's status callback for one message."""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": str((message or {}).get("to") or ""),
        "From": str((message or {}).get("from") or ""),
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form


def twilio_inbound_form(account_sid: str, from_number: str, to: str, body: str) -> dict[str, str]:
    """Return the parameters of Twilio's incoming-message webhook."""
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "MessageSid": "SM" + uuid.uuid4().hex,
        "SmsSid": "SM" + uuid.uuid4().hex,
        "From": from_number,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }
