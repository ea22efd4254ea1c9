"""A contact's own choices through a message's links: unsubscribe, channel and topic consent.

The signed link names a delivery; its contact is who chooses. Channel choices are marketing
consent on that channel; a topic choice is kept as consent with purpose `topic:<name>` on
every preference channel, so the contact policy finds it with the channel's own consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.dispatch.policy import topic_purpose
from campaign_engine.errors import DomainError, NotFound
from campaign_engine.models import Consent, Delivery
from campaign_engine.tracking.record import RawEvent, change_consent, record_events

CHANNELS = ("email", "sms", "social")  # what the preference page offers
SOURCE = "preferences"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Whom a message's link speaks for: the delivery, its contact and its channel."""

    delivery_id: int
    contact_id: int
    channel: str


@dataclass(frozen=True, slots=True)
class Choice:
    """What the preference form asks for: the channels and topics the contact wants."""

    channels: frozenset[str]
    topics: frozenset[str]


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the preference page shows: each channel's and each topic's current choice."""

    subscriber: Subscriber
    channels: dict[str, bool]  # opted in to marketing on the channel
    topics: dict[str, bool]  # not opted out of the topic


def find_subscriber(session: Session, delivery_id: int) -> Subscriber:
    """Return who a delivery's link speaks for; raise NotFound for an unknown delivery."""
    found = session.execute(
        select(Delivery.contact_id, Delivery.channel).where(Delivery.id == delivery_id)
    ).first()
    if found is None:
        raise NotFound("This link names a message we no longer know.")
    return Subscriber(delivery_id, found[0], found[1])


def unsubscribe(session: Session, delivery_id: int, now: datetime) -> Subscriber:
    """Opt the delivery's contact out of marketing on its channel; a repeat changes nothing."""
    subscriber = find_subscriber(session, delivery_id)
    state = session.scalar(
        select(Consent.state).where(
            Consent.contact_id == subscriber.contact_id,
            Consent.channel == subscriber.channel,
            Consent.purpose == "marketing",
        )
    )
    if state != "opted_out":  # a repeated one-click POST is no second unsubscribe event
        record_events(session, [RawEvent(delivery_id, "unsubscribe", now, "link", method="POST")])
    return subscriber


def parse_choice(channels: Iterable[str], topics: Iterable[str], known: Sequence[str]) -> Choice:
    """Return the posted choice; raise DomainError naming any channel or topic we do not offer."""
    wanted_channels, wanted_topics = frozenset(channels), frozenset(topics)
    unknown = [f"channel {c!r}" for c in sorted(wanted_channels - set(CHANNELS))]
    unknown += [f"topic {t!r}" for t in sorted(wanted_topics - set(known))]
    if unknown:
        raise DomainError(
            f"Unknown {', '.join(unknown)}. Channels are {', '.join(CHANNELS)}; "
            f"topics are {', '.join(known) or 'none'}."
        )
    return Choice(wanted_channels, wanted_topics)


def load_preferences(session: Session, delivery_id: int, topics: Sequence[str]) -> Preferences:
    """Return the current choices of the delivery's contact."""
    subscriber = find_subscriber(session, delivery_id)
    states = _states(session, subscriber.contact_id, topics)
    return Preferences(
        subscriber,
        {channel: states.get((channel, "marketing")) == "opted_in" for channel in CHANNELS},
        {
            topic: not any(
                states.get((channel, topic_purpose(topic))) == "opted_out" for channel in CHANNELS
            )
            for topic in topics
        },
    )


def save_preferences(
    session: Session, delivery_id: int, choice: Choice, topics: Sequence[str], now: datetime
) -> Preferences:
    """Store what changed between the shown choices and `choice`; return the new choices."""
    shown = load_preferences(session, delivery_id, topics)
    contact_id = shown.subscriber.contact_id
    for channel, was_in in shown.channels.items():
        wants = channel in choice.channels
        if wants != was_in:
            state = "opted_in" if wants else "opted_out"
            change_consent(session, contact_id, channel, state, SOURCE, now, "marketing")
    for topic, was_in in shown.topics.items():
        wants = topic in choice.topics
        if wants != was_in:
            state = "opted_in" if wants else "opted_out"
            for channel in CHANNELS:
                change_consent(
                    session, contact_id, channel, state, SOURCE, now, topic_purpose(topic)
                )
    return load_preferences(session, delivery_id, topics)


def _states(session: Session, contact_id: int, topics: Sequence[str]) -> dict[tuple[str, str], str]:
    purposes = ["marketing", *(topic_purpose(topic) for topic in topics)]
    rows = session.execute(
        select(Consent.channel, Consent.purpose, Consent.state).where(
            Consent.contact_id == contact_id, Consent.purpose.in_(purposes)
        )
    )
    return {(channel, purpose): state for channel, purpose, state in rows}
