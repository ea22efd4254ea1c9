"""The message source a marketer writes: channel, purpose and the subject, HTML and text parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from templates.problems import Part

Channel = Literal["email", "sms", "social"]
Purpose = Literal["marketing", "transactional"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "social")
PURPOSES: tuple[Purpose, ...] = ("marketing", "transactional")


@dataclass(frozen=True, slots=True)
class MessageSource:
    """A message's template sources; an absent text part of an email is derived from its HTML.

    SMS and social messages have only a text part.
    """

    channel: Channel = "email"
    purpose: Purpose = "marketing"
    subject: str | None = None
    html: str | None = None
    text: str | None = None

    def part(self, part: Part) -> str:
        """Return the source of `part`, empty when it is absent."""
        if part == "subject":
            return self.subject or ""
        if part == "html":
            return self.html or ""
        return self.text or ""

    @property
    def is_marketing_email(self) -> bool:
        """Say whether the unsubscribe link, postal address and List-Unsubscribe apply."""
        return self.channel == "email" and self.purpose == "marketing"

    @property
    def derives_text(self) -> bool:
        """Say whether the text part is derived from the rendered HTML."""
        return self.channel == "email" and not (self.text or "").strip() and bool(self.html)
