"""Message-template use cases: save with validation, preview as a contact, install the starters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.dispatch.rendering import (
    CONTACT_FIELDS,
    TRAIT_FIELDS,
    load_library,
    message_context,
)
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.errors import Conflict, InvalidInput, NotFound, Problem
from campaign_engine.ingest.batch import problems_of
from campaign_engine.journeys.references import refuse_if_referenced
from campaign_engine.models import (
    CampaignMessage,
    Contact,
    ContactTraits,
    Delivery,
    MessageTemplate,
)
from campaign_engine.models.types import utcnow
from campaign_engine.recommend.messages import contact_recommendations
from templates import (
    MessageSource,
    RenderedMessage,
    TemplateError,
    compile_message,
    sample_context,
    starter_library,
    starter_templates,
    validate,
)
from templates import Problem as TemplateProblem


class TemplateBody(BaseModel):
    """A template as the API and the editor send it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.\- ]+$")
    kind: Literal["message", "layout", "partial"] = "message"
    channel: Literal["email", "sms", "social"] = "email"
    purpose: Literal["marketing", "transactional"] = "marketing"
    description: str = Field(default="", max_length=2000)
    subject: str | None = None
    html: str | None = None
    text: str | None = None


def _problems(found: list[TemplateProblem]) -> list[Problem]:
    return [
        Problem(p.part if p.line is None else f"{p.part}, line {p.line}", p.message) for p in found
    ]


def parse_body(data: Any) -> TemplateBody:
    """Validate a template body or raise InvalidInput naming each bad field."""
    try:
        return TemplateBody.model_validate(data)
    except ValidationError as error:
        raise InvalidInput("the template is invalid", problems_of(error)) from None


def check_template(session: Session, body: TemplateBody) -> list[Problem]:
    """Return every problem with a template: syntax, unknown variables, sandbox, compliance."""
    library = load_library(session)
    if body.kind != "message":
        library[body.name] = body.html if body.html is not None else (body.text or "")
        probe = MessageSource(
            "email", "transactional", "probe", "{% include '" + body.name + "' %}"
        )
        if body.kind == "layout":
            probe = MessageSource(
                "email", "transactional", "probe", "{% extends '" + body.name + "' %}"
            )
        return _problems(validate(probe, library))
    source = MessageSource(body.channel, body.purpose, body.subject, body.html, body.text)
    return _problems(validate(source, library))


def save_template(
    session: Session, data: Any, *, template_id: int | None = None, created_by: str | None = None
) -> MessageTemplate:
    """Validate and store a template; nothing is saved when any problem is found."""
    body = parse_body(data)
    clash = select(MessageTemplate.id).where(func.lower(MessageTemplate.name) == body.name.lower())
    if template_id is not None:
        clash = clash.where(MessageTemplate.id != template_id)
    if session.scalar(clash) is not None:
        raise InvalidInput("the template is invalid", [Problem("name", f"{body.name!r} is taken")])
    if problems := check_template(session, body):
        raise InvalidInput("the template has problems", problems)
    if template_id is None:
        template = MessageTemplate(created_by=created_by)
        session.add(template)
    else:
        template = get_template(session, template_id)
        if template.channel != body.channel and _used(session, template_id):
            raise Conflict("a template used by campaigns cannot change channel")
    for field_name in (
        "name",
        "kind",
        "channel",
        "purpose",
        "description",
        "subject",
        "html",
        "text",
    ):
        setattr(template, field_name, getattr(body, field_name))
    template.updated_at = utcnow()
    session.flush()
    return template


def _used(session: Session, template_id: int) -> bool:
    in_campaigns = session.scalar(
        select(func.count()).where(CampaignMessage.template_id == template_id)
    )
    in_ledger = session.scalar(
        select(func.count()).select_from(
            select(Delivery.id).where(Delivery.template_id == template_id).limit(1).subquery()
        )
    )
    return bool(in_campaigns or in_ledger)


def get_template(session: Session, template_id: int) -> MessageTemplate:
    """Return a template or raise NotFound."""
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist")
    return template


def list_templates(session: Session, channel: str | None = None) -> list[MessageTemplate]:
    """Return templates by name, optionally for one channel."""
    query = select(MessageTemplate).order_by(MessageTemplate.kind, MessageTemplate.name)
    if channel:
        query = query.where(MessageTemplate.channel == channel)
    return list(session.scalars(query))


def delete_template(session: Session, template_id: int) -> None:
    """Delete a template no campaign uses and nothing was sent with."""
    template = get_template(session, template_id)
    if _used(session, template_id):
        raise Conflict(f"template {template.name!r} is used by campaigns; it is kept")
    refuse_if_referenced(session, "template", template_id, f"template {template.name!r}")
    session.delete(template)
    session.flush()


def template_json(template: MessageTemplate) -> dict[str, Any]:
    """Return the API shape of a template."""
    return {
        "id": template.id,
        "name": template.name,
        "kind": template.kind,
        "channel": template.channel,
        "purpose": template.purpose,
        "description": template.description,
        "subject": template.subject,
        "html": template.html,
        "text": template.text,
        "updated_at": template.updated_at,
    }


@dataclass(frozen=True)
class Preview:
    """A template rendered as one contact would receive it."""

    contact_id: int | None
    message: RenderedMessage


def contact_context(
    session: Session, contact_id: int, settings: DispatchSettings, secret: str
) -> dict[str, object]:
    """Return the template context of one contact, with preview links."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    fields = {name: getattr(contact, name) for name in CONTACT_FIELDS} | {"id": contact.id}
    row = session.get(ContactTraits, contact_id)
    traits = {name: getattr(row, name) for name in TRAIT_FIELDS} if row else None
    preview = {"name": "Preview", "code": "PREVIEW", "type": "newsletter"}
    recommendations = contact_recommendations(session, contact_id)
    return message_context(fields, traits, preview, settings, secret, 0, recommendations)


def preview_template(
    session: Session,
    data: Any,
    contact_id: int | None,
    settings: DispatchSettings,
    secret: str,
) -> Preview:
    """Render a template (saved or being edited) as a contact, or as the sample contact."""
    body = parse_body(data)
    source = MessageSource(body.channel, body.purpose, body.subject, body.html, body.text)
    if contact_id is None:
        context: dict[str, object] = sample_context()
    else:
        context = contact_context(session, contact_id, settings, secret)
    try:
        compiled = compile_message(source, load_library(session), check=False)
        return Preview(contact_id, compiled.render(context))
    except TemplateError as error:
        raise InvalidInput("the template cannot be previewed", _problems(error.problems)) from None


def install_starters(session: Session) -> list[MessageTemplate]:
    """Store the shipped layouts, partials and starter templates that are not stored yet."""
    existing = set(session.scalars(select(MessageTemplate.name)))
    added: list[MessageTemplate] = []
    for name, html in starter_library().items():
        if name not in existing:
            kind = "layout" if "{% block" in html else "partial"
            added.append(MessageTemplate(name=name, kind=kind, channel="email", html=html))
    for name, starter in starter_templates().items():
        if name not in existing:
            added.append(
                MessageTemplate(
                    name=name,
                    kind="message",
                    channel=starter.channel,
                    purpose=starter.purpose,
                    description=starter.description,
                    subject=starter.subject or None,
                    html=starter.html or None,
                    text=starter.text or None,
                )
            )
    session.add_all(added)
    session.flush()
    return added
