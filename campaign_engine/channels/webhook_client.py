"""POST signed JSON to a webhook with `requests` and map the reply to an outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from campaign_engine.channels.base import Outcome
from campaign_engine.channels.retry_after import parse_retry_after
from campaign_engine.channels.webhook_signing import signed_headers

EVENT_HEADER = "X-CE-Event"


@dataclass(frozen=True)
class WebhookReply:
    """What one signed POST came to: an outcome, the parsed JSON body when there was one."""

    outcome: Outcome
    payload: Any = None
    reason: str | None = None
    retry_after: float | None = None


def post_signed(
    session: requests.Session,
    url: str,
    secret: str,
    body: Any,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> WebhookReply:
    """POST `body` as signed JSON; never raises for network or receiver trouble."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    all_headers = {"Content-Type": "application/json", **signed_headers(secret, raw)}
    all_headers.update(headers or {})
    try:
        response = session.post(url, data=raw, headers=all_headers, timeout=timeout)
        text = response.text
    except requests.RequestException as err:
        return WebhookReply("retry", reason=f"webhook unreachable or unreadable reply: {err!r}")
    status = response.status_code
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return WebhookReply("retry", reason="webhook rate limit (429)", retry_after=wait)
    if status >= 500 or status == 408:
        return WebhookReply("retry", reason=f"webhook {status}: {text[:200]}")
    if status >= 400:
        return WebhookReply("failed", reason=f"webhook {status}: {text[:200]}")
    if not 200 <= status < 300:
        return WebhookReply("retry", reason=f"webhook replied with unexpected status {status}")
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None  # a receiver need not answer JSON; 2xx is what counts
    return WebhookReply("accepted", payload=payload)
