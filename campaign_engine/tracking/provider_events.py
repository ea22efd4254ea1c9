"""Events from provider webhooks: a parsed batch, its recording with counts, and its errors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from campaign_engine.errors import DomainError
from campaign_engine.tracking.machine import DEFAULT_RULES, MachineRules
from campaign_engine.tracking.record import RawEvent, record_events

MAX_ID = 2**63 - 1  # the largest delivery id the database can hold
DEDUPE_KEY_LENGTH = 128  # tracking_events.dedupe_key


class WebhookNotConfigured(DomainError):
    """The webhook's secret or key is not set, so no request can be trusted."""

    status = 503
    code = "not_configured"


class MalformedWebhook(DomainError):
    """A signed webhook body is not in the provider's format."""

    status = 400
    code = "malformed_webhook"


@dataclass(frozen=True)
class ProviderBatch:
    """The events one webhook request brought, and how many it held that mean nothing to us."""

    events: list[RawEvent] = field(default_factory=list)
    ignored: int = 0


@dataclass(frozen=True)
class WebhookCounts:
    """What became of a webhook's events: stored, replays, unknown deliveries, left out."""

    recorded: int
    duplicates: int
    unknown: int
    ignored: int

    def as_dict(self) -> dict[str, int]:
        """Return the JSON shape webhook endpoints answer with."""
        return {
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "ignored": self.ignored,
        }


def record_provider_events(
    session: Session, batch: ProviderBatch, rules: MachineRules = DEFAULT_RULES
) -> WebhookCounts:
    """Record a webhook's events once each and apply what they mean; return the counts."""
    result = record_events(session, batch.events, rules)
    return WebhookCounts(result.recorded, result.duplicates, result.unknown, batch.ignored)


def delivery_id(value: object) -> int | None:
    """Return a delivery id given as a positive integer or its digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


def clean_text(value: object) -> str | None:
    """Return `value` as text any database stores (no NUL, no lone surrogates), else None."""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def dedupe_key(prefix: str, text: str) -> str:
    """Return `text` as a dedupe key, hashed (under `prefix`) when it is too long to store."""
    if len(text) <= DEDUPE_KEY_LENGTH:
        return text
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()}"
