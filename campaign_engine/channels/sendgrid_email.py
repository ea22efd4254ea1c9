"""Email through SendGrid's v3 mail-send API with the official `sendgrid` client."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from typing import Any

from python_http_client.exceptions import HTTPError  # type: ignore[import-untyped]
from sendgrid import SendGridAPIClient  # type: ignore[import-untyped]

from campaign_engine.channels.base import ChannelName, OutboundMessage, Outcome, SendResult
from campaign_engine.channels.retry_after import parse_retry_after

MAX_PERSONALIZATIONS = 1000
LOOKUP_CHUNK = 25  # delivery ids OR-ed into one Email Activity query (the URL stays short)
LOOKUP_LIMIT = 1000  # the most messages one Email Activity query returns
SUBSTITUTION_LIMIT = 10_000  # bytes of substitution keys and values per personalization
SUBJECT_TAG, HTML_TAG, TEXT_TAG = "-subject-", "-html-", "-text-"

Body = dict[str, Any]


class LookupTrouble(Exception):
    """SendGrid could not say which messages it received (error, timeout, garbled reply)."""


def substitution_size(substitutions: Mapping[str, str]) -> int:
    """Return the bytes SendGrid counts against its per-personalization substitution limit."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in substitutions.items())


def _substitutions(message: OutboundMessage) -> dict[str, str]:
    subs = {SUBJECT_TAG: message.subject or "", TEXT_TAG: message.text}
    if message.html is not None:
        subs[HTML_TAG] = message.html
    return subs


def _content(text: str, html: str | None) -> list[dict[str, str]]:
    # SendGrid requires text/plain before text/html.
    content = [{"type": "text/plain", "value": text}]
    if html is not None:
        content.append({"type": "text/html", "value": html})
    return content


def _recipient(message: OutboundMessage) -> dict[str, str]:
    to = {"email": message.to}
    if message.to_name:
        to["name"] = message.to_name
    return to


def _custom_args(message: OutboundMessage) -> dict[str, str]:
    args = {"delivery_id": str(message.delivery_id)}
    if message.campaign_code:
        args["campaign_code"] = message.campaign_code
    return args


class SendGridEmail:
    """Send email through SendGrid: up to 1,000 personalizations per mail-send request.

    Every recipient's message is rendered by us, so a request carries substitution tags as its
    content and each personalization carries its own subject, HTML and text as substitutions.
    A message whose substitutions would exceed SendGrid's 10,000-byte limit goes alone, with
    plain content.
    """

    name: ChannelName = "email"

    def __init__(
        self,
        api_key: str,
        from_email: str,
        from_name: str = "",
        host: str = "https://api.sendgrid.com",
        timeout: float = 10.0,
        cost_per_message: float = 0.0,
        max_batch: int = MAX_PERSONALIZATIONS,
    ) -> None:
        self.max_batch = max_batch
        self._from = {"email": from_email, **({"name": from_name} if from_name else {})}
        self._timeout = timeout
        self._price = cost_per_message
        self._client = SendGridAPIClient(api_key, host=host.rstrip("/"))
        # The client has no timeout of its own; python_http_client passes this to urlopen.
        self._client.client.timeout = timeout

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send `messages` in as few requests as SendGrid allows; one result per message."""
        results: dict[int, SendResult] = {}
        for indexes, body in self._requests(messages):
            batch = [messages[i] for i in indexes]
            for i, result in zip(indexes, self._post(batch, body), strict=True):
                results[i] = result
        return [results[i] for i in range(len(messages))]

    def lookup(self, delivery_ids: Sequence[int]) -> dict[int, str]:
        """Return the SendGrid message id of each delivery SendGrid received, by delivery id.

        Asks the Email Activity API (`GET /v3/messages`) by custom arg `delivery_id`, OR-ing a
        chunk of ids per query. Its list does not say which custom args a message had, so a
        chunk that matched anything is asked again one id at a time. Raises LookupTrouble when
        SendGrid cannot answer: the caller must then neither accept nor resend the deliveries.
        """
        found: dict[int, str] = {}
        ids = sorted(set(delivery_ids))
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            hits = self._activity(chunk)
            if not hits:
                continue
            if len(chunk) == 1:
                found[chunk[0]] = hits[0]
                continue
            for delivery_id in chunk:
                if hits := self._activity([delivery_id]):
                    found[delivery_id] = hits[0]
        return found

    def _activity(self, delivery_ids: Sequence[int]) -> list[str]:
        """Return the msg_id of every message whose custom arg delivery_id is one of these."""
        query = " OR ".join(f"unique_args['delivery_id']=\"{i}\"" for i in delivery_ids)
        try:
            response = self._client.client.messages.get(
                query_params={"limit": LOOKUP_LIMIT, "query": query}, timeout=self._timeout
            )
            messages = json.loads(response.body)["messages"]
            return [str(m["msg_id"]) for m in messages]
        except HTTPError as err:
            reason = f"SendGrid {err.status_code}: {_error_message(err.body)}"
            raise LookupTrouble(f"Email Activity lookup failed: {reason}") from err
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as err:
            raise LookupTrouble(f"Email Activity lookup failed: {err!r}") from err

    def cost(self, message: OutboundMessage) -> float:
        """Return the configured price of one email."""
        return self._price

    def close(self) -> None:
        """Nothing to release: python_http_client opens a connection per request."""

    def _requests(self, messages: Sequence[OutboundMessage]) -> list[tuple[list[int], Body]]:
        """Group messages into mail-send bodies: (indexes into `messages`, request body)."""
        groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
        requests: list[tuple[list[int], Body]] = []
        for i, message in enumerate(messages):
            if substitution_size(_substitutions(message)) > SUBSTITUTION_LIMIT:
                requests.append(([i], self._plain_body(message)))
            else:
                key = (message.categories, message.html is not None)
                groups.setdefault(key, []).append(i)
        for (categories, has_html), indexes in groups.items():
            for start in range(0, len(indexes), self.max_batch):
                chunk = indexes[start : start + self.max_batch]
                body = self._tagged_body([messages[i] for i in chunk], categories, has_html)
                requests.append((chunk, body))
        return requests

    def _tagged_body(
        self, batch: Sequence[OutboundMessage], categories: tuple[str, ...], has_html: bool
    ) -> Body:
        body: Body = {
            "from": self._from,
            "subject": SUBJECT_TAG,
            "content": _content(TEXT_TAG, HTML_TAG if has_html else None),
            "personalizations": [
                {
                    "to": [_recipient(m)],
                    "substitutions": _substitutions(m),
                    "custom_args": _custom_args(m),
                    **({"headers": dict(m.headers)} if m.headers else {}),
                }
                for m in batch
            ],
        }
        if categories:
            body["categories"] = list(categories)
        return body

    def _plain_body(self, message: OutboundMessage) -> Body:
        personalization: Body = {"to": [_recipient(message)], "custom_args": _custom_args(message)}
        if message.headers:
            personalization["headers"] = dict(message.headers)
        body: Body = {
            "from": self._from,
            "subject": message.subject or "",
            "content": _content(message.text, message.html),
            "personalizations": [personalization],
        }
        if message.categories:
            body["categories"] = list(message.categories)
        return body

    def _post(self, batch: Sequence[OutboundMessage], body: Body) -> list[SendResult]:
        """POST one mail-send body and map SendGrid's reply onto every message in it."""
        try:
            response = self._client.client.mail.send.post(request_body=body, timeout=self._timeout)
        except HTTPError as err:  # python_http_client's: the API answered 4xx or 5xx
            return _from_error(batch, err)
        except (OSError, http.client.HTTPException, ValueError) as err:
            # URLError, timeouts, refused or reset connections, truncated or garbled replies.
            reason = f"SendGrid unreachable or unreadable reply: {err!r}"
            return self._settle_unanswered(batch, reason)
        if not 200 <= response.status_code < 300:
            reason = f"SendGrid replied with unexpected status {response.status_code}"
            return [SendResult(m.delivery_id, "retry", reason=reason) for m in batch]
        message_id = response.headers.get("X-Message-Id")
        return [
            SendResult(
                m.delivery_id, "accepted", provider_id=f"{message_id}.{i}" if message_id else None
            )
            for i, m in enumerate(batch)
        ]

    def _settle_unanswered(self, batch: Sequence[OutboundMessage], reason: str) -> list[SendResult]:
        """Ask SendGrid which messages of an unanswered request it took; retry only the rest.

        The request may have arrived even though its reply did not (a lost reply, a timeout
        after SendGrid accepted it). Retrying those blind would send them twice. When the
        lookup fails too, every message is retried: nothing is known to have arrived.
        """
        try:
            found = self.lookup([m.delivery_id for m in batch])
        except LookupTrouble:
            found = {}
        return [
            SendResult(m.delivery_id, "accepted", provider_id=found[m.delivery_id])
            if m.delivery_id in found
            else SendResult(m.delivery_id, "retry", reason=reason)
            for m in batch
        ]


def _from_error(batch: Sequence[OutboundMessage], err: HTTPError) -> list[SendResult]:
    status = int(err.status_code)
    headers = err.headers
    if status == 429:
        wait = parse_retry_after(headers.get("Retry-After") if headers else None)
        reason = "SendGrid rate limit (429)"
        return [SendResult(m.delivery_id, "retry", reason=reason, retry_after=wait) for m in batch]
    reason = f"SendGrid {status}: {_error_message(err.body)}"
    outcome: Outcome = "retry" if status >= 500 or status == 408 else "failed"
    return [SendResult(m.delivery_id, outcome, reason=reason) for m in batch]


def _error_message(body: bytes | str | None) -> str:
    """Return the messages of a SendGrid `{"errors": [...]}` body, or the raw body."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(raw)["errors"]
        parts = [
            f"{e.get('message', '')}" + (f" ({e['field']})" if e.get("field") else "")
            for e in errors
        ]
        return "; ".join(parts) or raw[:200]
    except (ValueError, KeyError, TypeError, AttributeError):
        return raw[:200] or "no details"
