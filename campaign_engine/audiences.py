"""Custom audiences for ad platforms: a segment's members who allow social marketing, hashed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.channels.audience import (
    AudienceMember,
    AudienceSync,
    export_audience,
    sync_audience,
)
from campaign_engine.channels.settings import ChannelSettings
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import Consent, Contact
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import get_segment, members_select

BATCH = 10_000


def audience_members(session: Session, segment_id: int, now: datetime) -> Iterator[AudienceMember]:
    """Yield the segment's members opted in to social marketing, with their email and phone."""
    members = members_select(
        session, parse_definition(get_segment(session, segment_id).definition), now
    )
    query = (
        select(Contact.email, Contact.phone)
        .join(Consent, Consent.contact_id == Contact.id)
        .where(Consent.channel == "social", Consent.purpose == "marketing")
        .where(Consent.state == "opted_in")
        .where(Contact.id.in_(members.scalar_subquery()))
        .order_by(Contact.id)
        .execution_options(yield_per=BATCH)
    )
    for email, phone in session.execute(query):
        if email or phone:
            yield AudienceMember(email=email, phone=phone)


def export_segment_audience(session: Session, segment_id: int, path: Path, now: datetime) -> int:
    """Write the segment's custom audience to a CSV file of SHA-256 hashes; return its size."""
    return export_audience(audience_members(session, segment_id, now), path)


def sync_segment_audience(
    session: Session,
    segment_id: int,
    name: str,
    channels: ChannelSettings,
    now: datetime,
    mode: str = "replace",
) -> AudienceSync:
    """Send the segment's custom audience to the social webhook in signed chunks."""
    if not channels.social_webhook_url or not channels.social_webhook_secret:
        raise InvalidInput(
            "no social webhook is configured",
            [Problem("CE_SOCIAL_WEBHOOK_URL", "set the webhook URL and CE_SOCIAL_WEBHOOK_SECRET")],
        )
    return sync_audience(
        audience_members(session, segment_id, now),
        name,
        channels.social_webhook_url,
        channels.social_webhook_secret,
        mode="replace" if mode == "replace" else "add",
        timeout=channels.provider_timeout,
    )
