"""SMS through Twilio's official client, one request per message on a small thread pool."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException  # type: ignore[import-untyped]
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from campaign_engine.channels.base import ChannelName, OutboundMessage, SendResult
from campaign_engine.channels.retry_after import parse_retry_after
from templates.sms import sms_segments

E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def is_e164(number: str) -> bool:
    """Return True when `number` is an E.164 phone number (+, country code, up to 15 digits)."""
    return bool(E164.match(number))


def status_callback_url(base: str, delivery_id: int) -> str:
    """Return `base` with `delivery_id=<id>` added to its query string."""
    parts = urlsplit(base)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("delivery_id", str(delivery_id))]
    return urlunsplit(parts._replace(query=urlencode(query)))


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's HTTP client, sending every request to `base_url` instead of *.twilio.com.

    The generated resource classes build absolute `https://api.twilio.com/...` URLs; this
    rewrites scheme and host (keeping the path) at the one place all requests pass, so it works
    for every Twilio domain and needs no private attributes. It also keeps the last response's
    headers per thread, because `TwilioRestException` drops them and a 429's Retry-After lives
    there.
    """

    def __init__(self, base_url: str = "", timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url.rstrip("/")) if base_url else None
        self._local = threading.local()

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the configured base URL and remember the response headers."""
        self._local.headers = {}
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                parts._replace(
                    scheme=self._base.scheme,
                    netloc=self._base.netloc,
                    path=self._base.path + parts.path,
                )
            )
        response = super().request(
            method, url, params, data, headers, auth, timeout, allow_redirects
        )
        self._local.headers = dict(response.headers or {})
        return response

    def last_headers(self) -> Mapping[str, str]:
        """Return the headers of the last response this thread received."""
        headers: Mapping[str, str] = getattr(self._local, "headers", {})
        return headers


class TwilioSms:
    """Send SMS through Twilio: validate E.164, then one Messages.json POST per message."""

    name: ChannelName = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = "",
        status_callback: str = "",
        timeout: float = 10.0,
        cost_per_segment: float = 0.0,
        concurrency: int = 4,
        max_batch: int = 100,
    ) -> None:
        self.max_batch = max_batch
        self._from = from_number
        self._status_callback = status_callback
        self._price = cost_per_segment
        self._concurrency = concurrency
        self._http = RedirectingHttpClient(base_url, timeout=timeout)
        # A non-empty `environment` keeps the client from reading TWILIO_* from os.environ.
        self._client = Client(
            account_sid,
            auth_token,
            http_client=self._http,
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )
        self._pool: ThreadPoolExecutor | None = None

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send the messages concurrently; one result per message, in order."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="twilio-sms")
        return list(self._pool.map(self._send_one, messages))

    def cost(self, message: OutboundMessage) -> float:
        """Return the number of segments times the price per segment."""
        return sms_segments(message.text).segments * self._price

    def close(self) -> None:
        """Stop the worker threads and the HTTP session."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._http.session is not None:
            self._http.session.close()

    def _send_one(self, message: OutboundMessage) -> SendResult:
        if not is_e164(message.to):
            reason = f"{message.to!r} is not an E.164 phone number"
            return SendResult(message.delivery_id, "failed", reason=reason)
        options: dict[str, Any] = {"to": message.to, "from_": self._from, "body": message.text}
        if self._status_callback:
            options["status_callback"] = status_callback_url(
                self._status_callback, message.delivery_id
            )
        try:
            sent = self._client.messages.create(**options)
        except TwilioRestException as err:
            return self._from_error(message, err)
        except (requests.RequestException, ValueError, TwilioException) as err:
            # Timeouts, refused connections, truncated or non-JSON replies.
            reason = f"Twilio unreachable or unreadable reply: {err!r}"
            return SendResult(message.delivery_id, "retry", reason=reason)
        return SendResult(message.delivery_id, "accepted", provider_id=sent.sid)

    def _from_error(self, message: OutboundMessage, err: TwilioRestException) -> SendResult:
        reason = f"Twilio {err.status} (code {err.code}): {err.msg}"
        if err.status == 429 or err.status >= 500:
            wait = parse_retry_after(_header(self._http.last_headers(), "Retry-After"))
            return SendResult(message.delivery_id, "retry", reason=reason, retry_after=wait)
        return SendResult(message.delivery_id, "failed", reason=reason)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
