"""Gather in a few bulk queries what the contact policy needs to know about a batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in
from campaign_engine.dispatch.policy import TOPIC_OF_TYPE, Facts, topic_purpose
from campaign_engine.models import Campaign, Consent, Contact, Delivery, Suppression

COUNTED = ("queued", "sending", "accepted")  # deliveries that count toward caps and duplicates


@dataclass(frozen=True)
class Recipient:
    """A contact's addresses and time zone."""

    contact_id: int
    email: str | None
    phone: str | None
    external_id: str
    time_zone: str | None

    def address(self, channel: str) -> str | None:
        """Return where a message on `channel` goes."""
        if channel == "email":
            return self.email
        if channel == "sms":
            return self.phone
        return self.external_id


def load_recipients(session: Session, contact_ids: Sequence[int]) -> dict[int, Recipient]:
    """Return each contact's addresses, by id."""
    rows = session.execute(
        select(
            Contact.id, Contact.email, Contact.phone, Contact.external_id, Contact.time_zone
        ).where(key_in(session, Contact.id, contact_ids))
    )
    return {row[0]: Recipient(*row) for row in rows}


def suppression_reasons(
    session: Session, recipients: Sequence[Recipient], channel: str
) -> dict[int, str]:
    """Return why each suppressed recipient is suppressed on `channel` (address or domain)."""
    wanted: dict[tuple[str, str], list[int]] = defaultdict(list)
    for person in recipients:
        address = person.address(channel)
        if not address:
            continue
        if channel == "email":
            email = address.strip().lower()
            wanted[("email", email)].append(person.contact_id)
            wanted[("domain", email.rpartition("@")[2])].append(person.contact_id)
        elif channel == "sms":
            wanted[("phone", address)].append(person.contact_id)
    if not wanted:
        return {}
    values = sorted({value for _, value in wanted})
    found = session.execute(
        select(Suppression.kind, Suppression.value, Suppression.reason).where(
            key_in(session, Suppression.value, values)
        )
    )
    reasons: dict[int, str] = {}
    for kind, value, reason in found:
        for contact_id in wanted.get((kind, value), ()):
            reasons.setdefault(contact_id, f"{kind} {value} suppressed: {reason}")
    return reasons


def gather_facts(
    session: Session,
    recipients: Sequence[Recipient],
    *,
    channel: str,
    purpose: str,
    campaign_id: int,
    template_ids: Sequence[int],
    around: datetime,
    window: timedelta,
) -> dict[int, Facts]:
    """Return policy facts for each recipient on `channel`."""
    ids = [person.contact_id for person in recipients]
    topic = _topic(session, campaign_id)
    consents: dict[int, str] = {}
    topic_opt_outs: set[int] = set()
    purposes = [purpose, topic_purpose(topic)] if topic else [purpose]
    rows = session.execute(  # the channel's consent and the campaign topic's, in one query
        select(Consent.contact_id, Consent.purpose, Consent.state)
        .where(key_in(session, Consent.contact_id, ids))
        .where(Consent.channel == channel, Consent.purpose.in_(purposes))
    )
    for contact_id, about, state in rows:
        if about == purpose:
            consents[contact_id] = state
        elif state == "opted_out":
            topic_opt_outs.add(contact_id)
    suppressed = suppression_reasons(session, recipients, channel)
    planned: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    templates: dict[int, set[int]] = defaultdict(set)
    deliveries = session.execute(
        select(
            Delivery.contact_id,
            Delivery.planned_at,
            Delivery.channel,
            Delivery.template_id,
            Delivery.campaign_id,
        )
        .where(key_in(session, Delivery.contact_id, ids))
        .where(Delivery.purpose == "marketing", Delivery.status.in_(COUNTED))
        .where(Delivery.planned_at > around - window, Delivery.planned_at < around + window)
    )
    for contact_id, planned_at, on, template_id, other_campaign in deliveries:
        planned[contact_id].append((planned_at, on))
        if other_campaign != campaign_id and template_id in template_ids:
            templates[contact_id].add(template_id)
    return {
        person.contact_id: Facts(
            contact_id=person.contact_id,
            address=person.address(channel),
            time_zone=person.time_zone,
            consent=consents.get(person.contact_id),
            suppressed=suppressed.get(person.contact_id),
            planned=planned[person.contact_id],
            templates=frozenset(templates[person.contact_id]),
            topic_opt_out=topic if person.contact_id in topic_opt_outs else None,
        )
        for person in recipients
    }


def _topic(session: Session, campaign_id: int) -> str | None:
    campaign_type = session.scalar(select(Campaign.type).where(Campaign.id == campaign_id))
    return TOPIC_OF_TYPE.get(campaign_type or "")
