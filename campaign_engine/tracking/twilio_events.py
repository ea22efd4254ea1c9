"""Verify Twilio's signed callbacks: SMS status changes become events, STOP/START set consent.

Twilio signs the full URL it called plus the sorted POST parameters with the account's Auth
Token (HMAC-SHA1, `X-Twilio-Signature`). Behind a proxy the URL this process sees is not
the one Twilio called, so the URL is rebuilt from `CE_PUBLIC_URL` + path + query string:
configure Twilio with URLs under `CE_PUBLIC_URL`, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]

from campaign_engine.errors import Forbidden
from campaign_engine.models import Contact
from campaign_engine.tracking.provider_events import (
    ProviderBatch,
    WebhookNotConfigured,
    clean_text,
    dedupe_key,
    delivery_id,
)
from campaign_engine.tracking.record import RawEvent, change_consent

SIGNATURE_HEADER = "X-Twilio-Signature"
SOURCE = "twilio"
CONSENT_SOURCE = "inbound_sms"
# Twilio's MessageStatus → our kind; queued, sending, sent and the rest say nothing new.
STATUS_KINDS = {"delivered": "delivered", "undelivered": "bounce", "failed": "failed"}
# Unreachable handset, unknown destination, landline or unreachable carrier: do not retry.
HARD_ERRORS = frozenset({"30003", "30005", "30006"})
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP"})

REPLY_STOPPED = (
    "You are unsubscribed and will get no more marketing texts from us. Reply START to resubscribe."
)
REPLY_STARTED = "You are subscribed to our texts again. Reply STOP to unsubscribe, HELP for help."
REPLY_HELP = "Reply STOP to unsubscribe from our texts, START to subscribe again."
REPLY_UNKNOWN = "Thank you for your message. This number is not on our list, so nothing changed."


@dataclass(frozen=True)
class InboundSms:
    """A text someone sent us: who from, and the keyword it is, if any."""

    from_number: str
    keyword: str | None  # "stop", "start", "help", or None for any other text


def public_request_url(public_url: str, path: str, query: bytes) -> str:
    """Return the URL Twilio called: our public URL, the request path and its query string."""
    url = public_url.rstrip("/") + path
    return f"{url}?{query.decode('utf-8', 'replace')}" if query else url


def verify_signature(auth_token: str, url: str, form: Any, signature: str | None) -> None:
    """Raise unless `signature` is Twilio's for `url` and the POSTed `form` parameters."""
    if not auth_token:
        raise WebhookNotConfigured("CE_TWILIO_AUTH_TOKEN is not set")
    if not signature or not RequestValidator(auth_token).validate(url, form, signature):
        raise Forbidden(f"the {SIGNATURE_HEADER} header does not match this request")


def read_status(
    auth_token: str,
    url: str,
    query: Mapping[str, str],
    form: Any,
    signature: str | None,
    now: datetime,
) -> ProviderBatch:
    """Verify a message status callback and return its event (none for in-between states)."""
    verify_signature(auth_token, url, form, signature)
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    kind = STATUS_KINDS.get(status)
    # The SMS channel adds `delivery_id` to the callback URL; `delivery` is accepted too.
    did = delivery_id(query.get("delivery_id") or query.get("delivery"))
    if kind is None or did is None:
        return ProviderBatch(ignored=1)
    sid = clean_text(form.get("MessageSid") or form.get("SmsSid"))
    code = clean_text(form.get("ErrorCode")) or ""
    event = RawEvent(
        delivery_id=did,
        kind=kind,
        occurred_at=now,  # status callbacks carry no time of their own
        source=SOURCE,
        dedupe_key=dedupe_key("tw", f"{sid}:{status}") if sid else None,
        detail=f"{status} (error {code})" if code else status,
        hard_bounce=kind == "bounce" and code in HARD_ERRORS,
    )
    return ProviderBatch([event])


def read_inbound(auth_token: str, url: str, form: Any, signature: str | None) -> InboundSms:
    """Verify an incoming-message webhook and return the sender and the keyword it holds."""
    verify_signature(auth_token, url, form, signature)
    return InboundSms(
        (clean_text(form.get("From")) or "").strip(), keyword(clean_text(form.get("Body")) or "")
    )


def keyword(body: str) -> str | None:
    """Return "stop", "start" or "help" when the whole text is such a keyword, else None."""
    word = body.strip().strip(".!").upper()
    if word in OPT_OUT_WORDS:
        return "stop"
    if word in OPT_IN_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def answer_inbound(session: Session, message: InboundSms, now: datetime) -> str:
    """Apply a STOP or START to every contact with the sender's number; return the reply."""
    if message.keyword is None:
        return ""
    if message.keyword == "help":
        return REPLY_HELP
    contacts = (
        list(session.scalars(select(Contact.id).where(Contact.phone == message.from_number)))
        if message.from_number
        else []
    )
    if not contacts:
        return REPLY_UNKNOWN
    state = "opted_out" if message.keyword == "stop" else "opted_in"
    for contact_id in contacts:
        change_consent(session, contact_id, "sms", state, CONSENT_SOURCE, now)
    return REPLY_STOPPED if message.keyword == "stop" else REPLY_STARTED


def twiml(reply: str) -> str:
    """Return the TwiML answer: one message with `reply`, or none when it is empty."""
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response)
