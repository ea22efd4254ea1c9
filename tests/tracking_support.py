"""Test support for tracking: a campaign already sent to opted-in contacts, over the twins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.models import Delivery
from campaign_engine.runtime import Runtime
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
)
from tests.factories import make_consent, make_contact


@dataclass(frozen=True)
class SentCampaign:
    """A sent campaign: its id, its deliveries' ids in contact order, and the fake clock."""

    campaign_id: int
    delivery_ids: list[int]
    contact_ids: list[int]
    clock: Clock


def opted_in_contacts(session: Session, count: int, channel: str = "email") -> list[int]:
    """Make `count` contacts opted in to marketing on `channel`; return their ids."""
    ids = []
    for _ in range(count):
        contact = make_contact(session)
        make_consent(session, contact.id, channel, ("opted_in", NOON - timedelta(days=30), "test"))
        ids.append(contact.id)
    session.flush()
    return ids


def sent_campaign(runtime: Runtime, contacts: int = 4, **overrides: Any) -> SentCampaign:
    """Launch a campaign to `contacts` opted-in contacts and send it through the twins."""

    def set_up(session: Session) -> tuple[int, list[int]]:
        ids = opted_in_contacts(session, contacts)
        return launch(session, campaign_body(session, segment(session), **overrides)), ids

    campaign_id, contact_ids = in_session(runtime, set_up)
    clock = Clock()
    runner, _ = make_runner(runtime, clock)
    runner.tick()

    def deliveries(session: Session) -> list[int]:
        return list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.campaign_id == campaign_id)
                .order_by(Delivery.contact_id)
            )
        )

    return SentCampaign(campaign_id, in_session(runtime, deliveries), contact_ids, clock)
