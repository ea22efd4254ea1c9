"""Render a sent message again for its view-in-browser link, from today's contact data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.dispatch.rendering import CONTACT_FIELDS, TRAIT_FIELDS, Renderer, Row
from campaign_engine.errors import NotFound
from campaign_engine.models import Campaign, CampaignRun, Contact, ContactTraits, Delivery


@dataclass(frozen=True, slots=True)
class BrowserCopy:
    """A message as its reader sees it: HTML for email, plain text elsewhere."""

    subject: str
    html: str
    text: str


def delivery_row(session: Session, delivery_id: int) -> Row | None:
    """Return what rendering one delivery needs, or None when it is unknown."""
    contact_columns = [getattr(Contact, name) for name in CONTACT_FIELDS]
    trait_columns = [getattr(ContactTraits, name) for name in TRAIT_FIELDS]
    record = session.execute(
        select(
            Delivery.run_id,
            Delivery.campaign_id,
            Delivery.channel,
            Delivery.purpose,
            Delivery.template_id,
            Delivery.address,
            Delivery.contact_id,
            CampaignRun.kind,
            Campaign.code,
            Campaign.name,
            Campaign.type,
            ContactTraits.contact_id,
            *contact_columns,
            *trait_columns,
        )
        .join(Contact, Contact.id == Delivery.contact_id)
        .join(CampaignRun, CampaignRun.id == Delivery.run_id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .outerjoin(ContactTraits, ContactTraits.contact_id == Delivery.contact_id)
        .where(Delivery.id == delivery_id)
    ).first()
    if record is None:
        return None
    run_id, campaign_id, channel, purpose, template_id, address, contact_id = record[:7]
    kind, code, name, campaign_type, has_traits = record[7:12]
    width = len(CONTACT_FIELDS)
    contact = dict(zip(CONTACT_FIELDS, record[12 : 12 + width], strict=True))
    contact["id"] = contact_id
    traits = dict(zip(TRAIT_FIELDS, record[12 + width :], strict=True))
    return Row(
        delivery_id=delivery_id,
        run_id=run_id,
        campaign_id=campaign_id,
        channel=channel,
        purpose=str(purpose),
        template_id=template_id,
        address=address,
        contact=contact,
        traits=traits if has_traits is not None else None,
        campaign={"code": code, "name": name, "type": campaign_type},
        subject_prefix="[TEST] " if kind == "test" else "",
    )


def browser_copy(session: Session, renderer: Renderer, delivery_id: int) -> BrowserCopy:
    """Render one delivery's message; raise NotFound when it is unknown or cannot render."""
    row = delivery_row(session, delivery_id)
    if row is None:
        raise NotFound("This link names a message we no longer know.")
    messages, _ = renderer.render(session, [row])
    if not messages:  # its template was deleted or no longer renders for this contact
        raise NotFound("This message can no longer be shown.")
    message = messages[0]
    return BrowserCopy(message.subject or "", message.html or "", message.text)
