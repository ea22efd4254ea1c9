"""Signed links in messages (unsubscribe, preferences, view, open pixel, click): made here.

Tracking checks them. Unsubscribe, preference and view links never expire (the law wants an
unsubscribe link to keep working); open and click tokens carry the day they were made, so
tracking can stop counting them after `CE_TRACKING_LINK_DAYS`. A click token signs the target
URL itself, so the redirect only ever leads to a link the renderer put in the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

KINDS = ("unsubscribe", "preferences", "view")
DAY_SECONDS = 86_400


def sign(secret: str, kind: str, delivery_id: int) -> str:
    """Return a URL-safe token naming one delivery, which only the secret's holder can make."""
    digest = hmac.new(secret.encode(), f"{kind}:{delivery_id}".encode(), hashlib.sha256)
    return f"{delivery_id}.{digest.hexdigest()[:24]}"


def verify(secret: str, kind: str, token: str) -> int | None:
    """Return the delivery id a token names, or None when it was not made with the secret."""
    head, _, _ = token.partition(".")
    if not head.isdigit() or len(head) > 19:
        return None
    delivery_id = int(head)
    return delivery_id if hmac.compare_digest(sign(secret, kind, delivery_id), token) else None


def message_links(public_url: str, secret: str, delivery_id: int) -> dict[str, str]:
    """Return the link variables of one message's template context."""
    base = public_url.rstrip("/")
    return {
        "unsubscribe_url": f"{base}/t/unsubscribe/{sign(secret, 'unsubscribe', delivery_id)}",
        "preferences_url": f"{base}/t/preferences/{sign(secret, 'preferences', delivery_id)}",
        "view_in_browser_url": f"{base}/t/view/{sign(secret, 'view', delivery_id)}",
    }


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """What a verified open or click token names."""

    delivery_id: int
    day: int  # days since the epoch when the token was made
    url: str | None = None  # the click's target

    def age_days(self, now: datetime) -> int:
        """Return how many whole days old the token is at `now`."""
        return int(now.timestamp() // DAY_SECONDS) - self.day


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _day(now: datetime) -> int:
    return int(now.timestamp() // DAY_SECONDS)


def open_token(secret: str, delivery_id: int, now: datetime) -> str:
    """Return the open pixel's token for one delivery."""
    day = _day(now)
    return f"{delivery_id}.{day}.{_mac(secret, f'open:{delivery_id}:{day}')}"


def click_token(secret: str, delivery_id: int, url: str, now: datetime) -> str:
    """Return a click token for one link of one delivery; it carries the URL, signed."""
    day = _day(now)
    mac = _mac(secret, f"click:{delivery_id}:{day}:{url}")
    return f"{delivery_id}.{day}.{mac}.{_b64(url)}"


def _head(token: str, parts: int) -> tuple[int, int, str, list[str]] | None:
    pieces = token.split(".", parts - 1)
    if len(pieces) != parts or not pieces[0].isdigit() or not pieces[1].isdigit():
        return None
    if len(pieces[0]) > 19 or len(pieces[1]) > 7:
        return None
    return int(pieces[0]), int(pieces[1]), pieces[2], pieces[3:]


def verify_open(secret: str, token: str) -> TrackedLink | None:
    """Return what an open token names, or None when it is forged or malformed."""
    head = _head(token, 3)
    if head is None:
        return None
    delivery_id, day, mac, _ = head
    if not hmac.compare_digest(_mac(secret, f"open:{delivery_id}:{day}"), mac):
        return None
    return TrackedLink(delivery_id, day)


def verify_click(secret: str, token: str) -> TrackedLink | None:
    """Return what a click token names, with its URL, or None when it is forged or malformed."""
    head = _head(token, 4)
    if head is None:
        return None
    delivery_id, day, mac, (encoded,) = head
    url = _unb64(encoded)
    if url is None or not hmac.compare_digest(
        _mac(secret, f"click:{delivery_id}:{day}:{url}"), mac
    ):
        return None
    return TrackedLink(delivery_id, day, url)


def open_pixel_url(public_url: str, secret: str, delivery_id: int, now: datetime) -> str:
    """Return the URL of one delivery's open pixel."""
    return f"{public_url.rstrip('/')}/t/o/{open_token(secret, delivery_id, now)}.gif"


def click_url(public_url: str, secret: str, delivery_id: int, url: str, now: datetime) -> str:
    """Return the tracked (redirecting) form of one link in one delivery."""
    return f"{public_url.rstrip('/')}/t/c/{click_token(secret, delivery_id, url, now)}"
