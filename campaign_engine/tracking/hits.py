"""Turn open-pixel and click-link requests into events: verify, check age, hand to the writer.

A bad token is never an error here: the pixel answers its GIF whatever happens, and a click
whose token does not verify gets no target (the caller answers 404, never an open redirect).
A link older than `link_days` still works but is not counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from campaign_engine.links import verify_click, verify_open
from campaign_engine.tracking.record import RawEvent
from campaign_engine.tracking.writer import EventWriter

log = logging.getLogger(__name__)
WEB_SCHEMES = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Hit:
    """One request for a pixel or a tracked link: its token, who asked, how and when."""

    token: str
    user_agent: str
    method: str
    at: datetime


class LinkTracker:
    """Verifies pixel and click tokens and hands the events they make to a writer."""

    def __init__(self, secret: str, link_days: int, writer: EventWriter) -> None:
        self.secret = secret
        self.link_days = link_days
        self.writer = writer

    def open(self, hit: Hit) -> bool:
        """Record an open when the pixel's token is genuine and fresh; return whether it was."""
        link = verify_open(self.secret, hit.token)
        if link is None or link.age_days(hit.at) > self.link_days:
            return False
        return self._submit(_event(hit, link.delivery_id, "open", "pixel"))

    def click(self, hit: Hit) -> str | None:
        """Return the signed target of a click token (None when forged); record fresh clicks."""
        link = verify_click(self.secret, hit.token)
        if link is None or link.url is None or not link.url.lower().startswith(WEB_SCHEMES):
            return None
        if link.age_days(hit.at) <= self.link_days:
            self._submit(_event(hit, link.delivery_id, "click", "redirect", link.url))
        return link.url

    def _submit(self, event: RawEvent) -> bool:
        try:
            self.writer.submit(event)
        except Exception:  # the reader's mail client or browser must never see our failure
            log.exception("recording a %s of delivery %d failed", event.kind, event.delivery_id)
            return False
        return True


def _event(hit: Hit, delivery_id: int, kind: str, source: str, url: str | None = None) -> RawEvent:
    return RawEvent(
        delivery_id,
        kind,
        hit.at,
        source,
        url=url,
        user_agent=hit.user_agent[:512],
        method=hit.method,
    )
