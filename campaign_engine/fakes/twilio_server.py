"""A fake Twilio Messages API: form-encoded POSTs answered in Twilio's JSON, and a list GET."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.http_server import FakeHttpServer, Reply, Request
from campaign_engine.fakes.recording import Record

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
    `GET` on the same path lists the messages received so far.
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
