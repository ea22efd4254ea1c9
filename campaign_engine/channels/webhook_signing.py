"""Sign and verify webhook bodies: HMAC-SHA256 of "timestamp.body" with a shared secret."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-CE-Timestamp"
SIGNATURE_HEADER = "X-CE-Signature"
DEFAULT_TOLERANCE = 300.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the `sha256=<hex>` signature of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Return the timestamp and signature headers for `body`."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    sent_signature: str | None,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Return True when the signature matches and the timestamp is within `tolerance` seconds."""
    if not timestamp or not sent_signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), sent_signature)
