"""Social posts as signed webhook POSTs: a JSON array of up to `max_batch` posts per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from campaign_engine.channels.base import ChannelName, OutboundMessage, SendResult
from campaign_engine.channels.webhook_client import EVENT_HEADER, post_signed


def post_body(message: OutboundMessage) -> dict[str, Any]:
    """Return the JSON object one post travels as."""
    return {
        "delivery_id": message.delivery_id,
        "to": message.to,
        "text": message.text,
        "campaign_code": message.campaign_code,
    }


class SocialWebhook:
    """Send social posts to a webhook, signed with HMAC-SHA256 over "timestamp.body".

    `Idempotency-Key` carries the batch's delivery ids, comma-separated, so a receiver can drop
    a repeated request; each post also carries its own `delivery_id`. A 2xx reply accepts every
    post; when it is JSON with an `ids` list as long as the batch, those become provider ids.
    """

    name: ChannelName = "social"

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 10.0,
        cost_per_message: float = 0.0,
        max_batch: int = 100,
    ) -> None:
        self.max_batch = max_batch
        self._url, self._secret = url, secret
        self._timeout = timeout
        self._price = cost_per_message
        self._session = requests.Session()

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """POST the posts in chunks of `max_batch`; one result per message, in order."""
        results: list[SendResult] = []
        for start in range(0, len(messages), self.max_batch):
            results.extend(self._post(messages[start : start + self.max_batch]))
        return results

    def cost(self, message: OutboundMessage) -> float:
        """Return the configured price of one post."""
        return self._price

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self._session.close()

    def _post(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        headers = {
            EVENT_HEADER: "posts",
            "Idempotency-Key": ",".join(str(m.delivery_id) for m in batch),
        }
        body = [post_body(m) for m in batch]
        reply = post_signed(self._session, self._url, self._secret, body, self._timeout, headers)
        if reply.outcome != "accepted":
            return [
                SendResult(
                    m.delivery_id, reply.outcome, reason=reply.reason, retry_after=reply.retry_after
                )
                for m in batch
            ]
        ids = reply.payload.get("ids") if isinstance(reply.payload, dict) else None
        if not isinstance(ids, list) or len(ids) != len(batch):
            ids = [None] * len(batch)
        return [
            SendResult(m.delivery_id, "accepted", provider_id=None if i is None else str(i))
            for m, i in zip(batch, ids, strict=True)
        ]
