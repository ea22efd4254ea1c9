"""Signed links in messages (unsubscribe, preferences, view): made here, checked by tracking."""

from __future__ import annotations

import hashlib
import hmac

KINDS = ("unsubscribe", "preferences", "view")


def sign(secret: str, kind: str, delivery_id: int) -> str:
    """Return a URL-safe token naming one delivery, which only the secret's holder can make."""
    digest = hmac.new(secret.encode(), f"{kind}:{delivery_id}".encode(), hashlib.sha256)
    return f"{delivery_id}.{digest.hexdigest()[:24]}"


def verify(secret: str, kind: str, token: str) -> int | None:
    """Return the delivery id a token names, or None when it was not made with the secret."""
    head, _, _ = token.partition(".")
    if not head.isdigit():
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
