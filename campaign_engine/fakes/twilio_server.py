"""A fake Twilio Messages API: form-encoded POSTs answered in Twilio's JSON, a list GET,
and signed status and incoming-message callbacks posted back to the engine."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import requests

from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.http_server import FakeHttpServer, Reply, Request
from campaign_engine.fakes.recording import Record
from campaign_engine.fakes.webhook_posts import (
    twilio_inbound_form,
    twilio_signed,
    twilio_status_form,
)

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
# Twilio's documented magic test number for "invalid phone number" (error 21211).
INVALID_NUMBERS = frozenset({"+15005550001"})


def _twilio_error(status: int, code: int, message: str) -> Reply:
    return Reply.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class FakeTwilio(FakeHttpServer):
    """Answer `POST /2010-04-01/Accounts/{sid}/Messages.json` like Twilio (201, status queued).

    A `To` that is not E.164, or is listed in `invalid_numbers`, gets 400 with code 21211.
    `GET` on the same path lists the messages received so far. `post_status` and
    `post_inbound` call back like Twilio, signed with the auth token.
    """

    def __init__(
        self,
        account_sid: str = "ACfake",
        auth_token: str = "fake-token",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        log_path: Path | None = None,
        invalid_numbers: frozenset[str] = INVALID_NUMBERS,
    ) -> None:
        super().__init__(host, port, faults, log_path)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.invalid_numbers = invalid_numbers

    def fault_reply(self, status: int, message: str) -> Reply:
        """Return Twilio's error shape (20429 is Twilio's too-many-requests code)."""
        return _twilio_error(status, 20429 if status == 429 else 20500, message)

    def malformed_status(self, request: Request) -> int:
        """Twilio creates messages with 201."""
        return 201

    def handle(self, request: Request) -> Reply:
        """Authenticate, validate and record one message, or list the recorded ones."""
        match = MESSAGES.match(request.path.split("?")[0])
        if match is None:
            return _twilio_error(404, 20404, "The requested resource was not found")
        if not self._authorised(request) or match["sid"] != self.account_sid:
            return _twilio_error(401, 20003, "Authenticate")
        if request.method == "GET":
            messages = [r for r in self.received() if r["account_sid"] == match["sid"]]
            return Reply.json(200, {"messages": messages, "next_page_uri": None, "page": 0})
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        to = form.get("To", "")
        if not E164.match(to) or to in self.invalid_numbers:
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("Body"):
            return _twilio_error(400, 21602, "Message body is required.")
        return Reply.json(201, *self._created(match["sid"], form))

    def status_callback(
        self, url: str, message_sid: str, status: str, error_code: str | int | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Return the form and signed headers of a status callback for a received message."""
        message = next((r for r in self.received() if r["sid"] == message_sid), None)
        form = twilio_status_form(self.account_sid, message, message_sid, status, error_code)
        return form, twilio_signed(self.auth_token, url, form)

    def post_status(
        self, url: str, message_sid: str, status: str, error_code: str | int | None = None
    ) -> requests.Response:
        """POST a signed status callback (e.g. `delivered`, `undelivered` + 30005) to `url`."""
        form, headers = self.status_callback(url, message_sid, status, error_code)
        return requests.post(url, data=form, headers=headers, timeout=30)

    def inbound(
        self, url: str, from_number: str, body: str, to: str = "+15005550006"
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Return the form and signed headers of an incoming message from `from_number`."""
        form = twilio_inbound_form(self.account_sid, from_number, to, body)
        return form, twilio_signed(self.auth_token, url, form)

    def post_inbound(
        self, url: str, from_number: str, body: str, to: str = "+15005550006"
    ) -> requests.Response:
        """POST a signed incoming message (such as STOP) to `url`."""
        form, headers = self.inbound(url, from_number, body, to)
        return requests.post(url, data=form, headers=headers, timeout=30)

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _created(self, sid: str, form: dict[str, str]) -> tuple[Record, list[Record]]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        message: Record = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": sid,
            "to": form["To"],
            "from": form.get("From"),
            "body": form["Body"],
            "status": "queued",
            "status_callback": form.get("StatusCallback"),
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{sid}/Messages.json",
        }
        return message, [message]
