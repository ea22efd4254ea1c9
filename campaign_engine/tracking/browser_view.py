"""Render a sent message again for its view-in-browser link, from today's contact data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from campaign_engine.dispatch.rendering import Renderer, Row, row_of, row_select
from campaign_engine.errors import NotFound
from campaign_engine.models import Delivery


@dataclass(frozen=True, slots=True)
class BrowserCopy:
    """A message as its reader sees it: HTML for email, plain text elsewhere."""

    subject: str
    html: str
    text: str


def delivery_row(session: Session, delivery_id: int) -> Row | None:
    """Return what rendering one delivery needs, or None when it is unknown."""
    record = session.execute(row_select().where(Delivery.id == delivery_id)).first()
    return None if record is None else row_of(record)[1]


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
