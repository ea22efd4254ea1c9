"""Render ledger rows into outbound messages; compiled templates are cached per process."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from campaign_engine.channels.base import OutboundMessage, SendResult
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.links import click_url, message_links, open_pixel_url
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Contact,
    ContactTraits,
    Delivery,
    MessageTemplate,
)
from campaign_engine.models.types import utcnow
from campaign_engine.recommend.messages import MessageRecommendations
from templates import CompiledMessage, MessageSource, RenderHooks, TemplateError, compile_message
from templates.context import build_context
from templates.recommendations import RecommendationSource

CONTACT_FIELDS = (
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "postal_code",
    "time_zone",
    "locale",
    "lifecycle_stage",
    "birth_date",
    "attributes",
)
TRAIT_FIELDS = (
    "rfm_cell",
    "rfm_group",
    "clv",
    "churn_risk",
    "recency_days",
    "frequency",
    "monetary",
)


@dataclass(frozen=True)
class Row:
    """A claimed delivery with what its message needs: contact, traits, campaign."""

    delivery_id: int
    run_id: int
    campaign_id: int
    channel: str
    purpose: str
    template_id: int
    address: str
    contact: Mapping[str, Any]
    traits: Mapping[str, Any] | None
    campaign: Mapping[str, Any]
    subject_prefix: str = ""


def row_select() -> Select[*tuple[Any, ...]]:
    """Return the query of what rendering a delivery needs; `row_of` reads its records."""
    return (
        select(
            Delivery.id,
            Delivery.run_id,
            Delivery.campaign_id,
            Delivery.channel,
            Delivery.template_id,
            Delivery.address,
            Delivery.purpose,
            Delivery.contact_id,
            CampaignRun.status,
            CampaignRun.kind,
            Campaign.code,
            Campaign.name,
            Campaign.type,
            ContactTraits.contact_id,
            *(getattr(Contact, name) for name in CONTACT_FIELDS),
            *(getattr(ContactTraits, name) for name in TRAIT_FIELDS),
        )
        .join(Contact, Contact.id == Delivery.contact_id)
        .join(CampaignRun, CampaignRun.id == Delivery.run_id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .outerjoin(ContactTraits, ContactTraits.contact_id == Delivery.contact_id)
    )


def row_of(record: Sequence[Any]) -> tuple[str, Row]:
    """Return a `row_select` record's run status and the row to render."""
    delivery_id, run_id, campaign_id, channel, template_id, address = record[:6]
    purpose, contact_id, run_status, kind, code, name, campaign_type = record[6:13]
    has_traits = record[13]
    width = len(CONTACT_FIELDS)
    contact = dict(zip(CONTACT_FIELDS, record[14 : 14 + width], strict=True))
    contact["id"] = contact_id
    traits = dict(zip(TRAIT_FIELDS, record[14 + width :], strict=True))
    return str(run_status), Row(
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


def source_of(template: MessageTemplate) -> MessageSource:
    """Return the pure library's view of a stored template."""
    return MessageSource(
        channel=template.channel,  # type: ignore[arg-type]
        purpose=template.purpose,  # type: ignore[arg-type]
        subject=template.subject,
        html=template.html,
        text=template.text,
    )


def load_library(session: Session) -> dict[str, str]:
    """Return every layout and partial by name, for `{% extends %}` and `{% include %}`."""
    rows = session.execute(
        select(MessageTemplate.name, MessageTemplate.html, MessageTemplate.text).where(
            MessageTemplate.kind != "message"
        )
    )
    return {name: html if html is not None else (text or "") for name, html, text in rows}


def message_context(
    contact: Mapping[str, Any],
    traits: Mapping[str, Any] | None,
    campaign: Mapping[str, Any],
    settings: DispatchSettings,
    secret: str,
    delivery_id: int,
    recommendations: RecommendationSource | None = None,
) -> dict[str, object]:
    """Return one message's template context: contact, traits, campaign, sender and its links."""
    sender = {"name": settings.sender_name, "postal_address": settings.sender_postal_address}
    links = message_links(settings.public_url, secret, delivery_id)
    return build_context(
        contact,
        traits=traits,
        campaign=campaign,
        sender=sender,
        links=links,
        recommendations=recommendations,
    )


class Renderer:
    """Turns rows into messages; compiles each template once per version and process."""

    def __init__(
        self,
        settings: DispatchSettings,
        secret: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.clock = clock
        self.compiled: dict[tuple[int, datetime], CompiledMessage] = {}
        self.mailto = settings.unsubscribe_mailbox or None
        # Our own pages (preferences, view in browser) are not clicks on the message's content.
        self.own_links = settings.public_url.rstrip("/") + "/t/"
        # Read only when a template calls recommendations(), once per batch.
        self.recommendations = MessageRecommendations()

    def hooks(self, row: Row, now: datetime) -> RenderHooks:
        """Return one delivery's tracking: tracked links, and an open pixel in email."""
        public_url, secret, delivery_id = self.settings.public_url, self.secret, row.delivery_id
        own = self.own_links

        def rewrite(url: str) -> str:
            if url.startswith(own):
                return url
            return click_url(public_url, secret, delivery_id, url, now)

        pixel = None
        if row.channel == "email":
            pixel = open_pixel_url(public_url, secret, delivery_id, now)
        return RenderHooks(
            rewrite_link=rewrite, open_pixel_url=pixel, unsubscribe_mailto=self.mailto
        )

    def _compiled(self, session: Session, template_ids: set[int]) -> dict[int, CompiledMessage]:
        templates = session.scalars(
            select(MessageTemplate).where(MessageTemplate.id.in_(sorted(template_ids)))
        ).all()
        library: dict[str, str] | None = None
        found: dict[int, CompiledMessage] = {}
        for template in templates:
            key = (template.id, template.updated_at)
            if key not in self.compiled:
                library = library if library is not None else load_library(session)
                self.compiled[key] = compile_message(source_of(template), library)
            found[template.id] = self.compiled[key]
        return found

    def render(
        self, session: Session, rows: Sequence[Row]
    ) -> tuple[list[OutboundMessage], list[SendResult]]:
        """Return the messages to send, and a failed result for each row that cannot render."""
        messages: list[OutboundMessage] = []
        failures: list[SendResult] = []
        compiled: dict[int, CompiledMessage] = {}
        try:
            compiled = self._compiled(session, {row.template_id for row in rows})
        except TemplateError as error:
            failures = [SendResult(r.delivery_id, "failed", reason=str(error)) for r in rows]
            return messages, failures
        now = self.clock()
        recommended = self.recommendations.batch(session, (row.contact["id"] for row in rows))
        for row in rows:
            template = compiled.get(row.template_id)
            if template is None:
                failures.append(SendResult(row.delivery_id, "failed", reason="template deleted"))
                continue
            context = message_context(
                row.contact,
                row.traits,
                row.campaign,
                self.settings,
                self.secret,
                row.delivery_id,
                recommended.source(row.contact["id"]),
            )
            try:
                rendered = template.render(context, self.hooks(row, now))
            except TemplateError as error:
                failures.append(SendResult(row.delivery_id, "failed", reason=str(error)))
                continue
            messages.append(
                OutboundMessage(
                    delivery_id=row.delivery_id,
                    channel=row.channel,  # type: ignore[arg-type]
                    to=row.address,
                    text=rendered.text,
                    subject=(row.subject_prefix + rendered.subject) if rendered.subject else None,
                    html=rendered.html or None,
                    headers=dict(rendered.headers),
                    categories=(str(row.campaign["code"]), str(row.campaign["type"])),
                    campaign_code=str(row.campaign["code"]),
                    to_name=_full_name(row.contact),
                )
            )
        recommended.check()
        return messages, failures


def _full_name(contact: Mapping[str, Any]) -> str | None:
    name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
    return name or None
