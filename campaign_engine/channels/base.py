"""The channel contract: plain outbound messages in, one result per message out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

ChannelName = Literal["email", "sms", "social"]
Outcome = Literal["accepted", "retry", "failed"]


@dataclass(frozen=True)
class OutboundMessage:
    """One rendered message for one recipient, as a provider needs it (never an ORM row).

    `delivery_id` is the ledger row's id; every provider carries it (SendGrid custom args,
    the social webhook's payload, Twilio's status-callback URL) so responses and reconciliation
    can be matched to the ledger. `to` is an email address, an E.164 phone number, or for social
    the contact's external id. `subject` and `html` are None for SMS and social.
    """

    delivery_id: int
    channel: ChannelName
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    campaign_code: str | None = None
    to_name: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What the provider said about one message.

    `accepted`: handed over (`provider_id` set when the provider returns one). `retry`: a
    transient failure (429, 5xx, timeout, connection error); `retry_after` holds the provider's
    Retry-After in seconds when it sent one. `failed`: permanent (4xx other than 429, invalid
    recipient, malformed reply to a permanent error); `reason` says why in a sentence.
    """

    delivery_id: int
    outcome: Outcome
    provider_id: str | None = None
    reason: str | None = None
    retry_after: float | None = None


class Channel(Protocol):
    """A provider client: sends batches of messages and says what each one cost."""

    name: ChannelName
    max_batch: int  # the most messages one `send` call takes

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send `messages`; return exactly one result per message, in the same order.

        Never raises for provider or network trouble: that becomes `retry` or `failed` results.
        """
        ...

    def cost(self, message: OutboundMessage) -> float:
        """Return what sending `message` costs, in the account currency."""
        ...

    def close(self) -> None:
        """Release connections (SMTP sessions, HTTP pools)."""
        ...
