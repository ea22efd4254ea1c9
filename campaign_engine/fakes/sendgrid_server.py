"""A fake SendGrid: mail send (validated, each recipient recorded), Email Activity lookups,
and signed Event Webhook posts back to the engine."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.http_server import FakeHttpServer, Reply, Request
from campaign_engine.fakes.recording import Record
from campaign_engine.fakes.webhook_posts import EventWebhookSigner, sendgrid_events

MAIL_SEND = "/v3/mail/send"
MESSAGES = "/v3/messages"
TERM = re.compile(r"""\s*(?:unique_args\['([^']+)'\]|(msg_id))\s*=\s*"([^"]*)"\s*""")
MAX_PERSONALIZATIONS = 1000
SUBSTITUTION_LIMIT = 10_000

Error = dict[str, str | None]


def _error(message: str, field: str | None) -> Error:
    return {"message": message, "field": field}


def _substitution_bytes(subs: dict[str, Any]) -> int:
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in subs.items())


def validate(body: Any) -> list[Error]:
    """Return every problem SendGrid would report for a mail-send body (empty when valid)."""
    if not isinstance(body, dict):
        return [_error("The request body must be a JSON object.", None)]
    errors: list[Error] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        errors.append(_error("The from object must be provided for every email send.", "from"))
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            _error("The personalizations field must contain at least 1 item.", "personalizations")
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            _error(
                f"The personalizations field must have at most {MAX_PERSONALIZATIONS} items.",
                "personalizations",
            )
        )
    content = body.get("content")
    if not isinstance(content, list) or not content:
        errors.append(
            _error("Unless a valid template_id is provided, content is required.", "content")
        )
    elif any(not isinstance(c, dict) or not c.get("type") or "value" not in c for c in content):
        errors.append(_error("Every content item needs a type and a value.", "content"))
    for i, p in enumerate(personalizations):
        errors.extend(_personalization_errors(i, p, has_subject=bool(body.get("subject"))))
    return errors


def _personalization_errors(i: int, p: Any, has_subject: bool) -> list[Error]:
    field = f"personalizations.{i}"
    if not isinstance(p, dict):
        return [_error("Each personalization must be an object.", field)]
    errors: list[Error] = []
    to = p.get("to")
    if (
        not isinstance(to, list)
        or not to
        or any(not isinstance(t, dict) or not t.get("email") for t in to)
    ):
        errors.append(
            _error("The to array is required for all personalization objects.", f"{field}.to")
        )
    if not has_subject and not p.get("subject"):
        errors.append(
            _error(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )
    subs = p.get("substitutions") or {}
    if _substitution_bytes(subs) > SUBSTITUTION_LIMIT:
        errors.append(
            _error(
                f"The total size of your substitutions may not exceed {SUBSTITUTION_LIMIT} "
                "bytes per personalization object.",
                f"{field}.substitutions",
            )
        )
    return errors


def _expand(text: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


def expand_recipients(body: dict[str, Any], message_id: str) -> list[Record]:
    """Return one record per personalization, with its subject, html and text substituted."""
    content = {c["type"]: c["value"] for c in body["content"]}
    records: list[Record] = []
    for i, p in enumerate(body["personalizations"]):
        subs = {str(k): str(v) for k, v in (p.get("substitutions") or {}).items()}
        custom_args = {**body.get("custom_args", {}), **p.get("custom_args", {})}
        records.append(
            {
                "message_id": f"{message_id}.{i}",
                "delivery_id": custom_args.get("delivery_id"),
                "to": p["to"][0]["email"],
                "from": body["from"]["email"],
                "subject": _expand(p.get("subject") or body.get("subject", ""), subs),
                "text": _expand(content.get("text/plain", ""), subs)
                if "text/plain" in content
                else None,
                "html": _expand(content["text/html"], subs) if "text/html" in content else None,
                "headers": {**body.get("headers", {}), **p.get("headers", {})},
                "custom_args": custom_args,
                "categories": body.get("categories", []),
            }
        )
    return records


def parse_query(query: str) -> list[tuple[str, str, str]]:
    """Split an Email Activity query of OR-ed equality terms into (kind, key, value) triples.

    Understands `unique_args['key']="value"` and `msg_id="value"`; raises ValueError otherwise.
    """
    terms = []
    for part in re.split(r"\s+OR\s+", query.strip()):
        match = TERM.fullmatch(part)
        if match is None:
            raise ValueError(f"cannot parse query term {part!r}")
        arg, msg_id, value = match.groups()
        terms.append(("msg_id", "", value) if msg_id else ("unique_args", arg, value))
    return terms


def _matches(record: Record, terms: list[tuple[str, str, str]]) -> bool:
    for kind, key, value in terms:
        if kind == "msg_id" and record["message_id"] == value:
            return True
        if kind == "unique_args" and str(record["custom_args"].get(key)) == value:
            return True
    return False


def activity_item(record: Record, when: str) -> dict[str, Any]:
    """Return a recorded message as an item of SendGrid's `GET /v3/messages` list."""
    return {
        "from_email": record["from"],
        "msg_id": record["message_id"],
        "subject": record["subject"],
        "to_email": record["to"],
        "status": "delivered",
        "opens_count": 0,
        "clicks_count": 0,
        "last_event_time": when,
    }


class FakeSendGrid(FakeHttpServer):
    """Answer like SendGrid: `POST /v3/mail/send` (202 + X-Message-Id, or 400/401 with errors)
    and `GET /v3/messages?query=...&limit=N` (Email Activity) from what it recorded.

    `delay` holds each mail-send request that long before it is handled, so a client can be
    killed mid-request; `activity_status`, when set, is what every Email Activity request gets
    (an outage, or 403 for an account without the Email Activity add-on).

    Like SendGrid's signed Event Webhook it has a key pair (`public_key_b64` is what
    `CE_SENDGRID_WEBHOOK_KEY` is set to) and posts signed events with `post_events`;
    `events_for_accepted` builds the events for the messages it accepted.
    """

    def __init__(
        self,
        api_key: str = "SG.fake-key",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        log_path: Path | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(host, port, faults, log_path)
        self.api_key = api_key
        self.delay = delay
        self.activity_status: int | None = None
        self.activity_requests = 0
        self.webhook_signer = EventWebhookSigner()

    @property
    def public_key_b64(self) -> str:
        """Return the Event Webhook verification key (base64 DER, as SendGrid shows it)."""
        return self.webhook_signer.public_key_b64

    def events_for_accepted(self, **choices: Any) -> list[dict[str, Any]]:
        """Return events for every accepted message; see `webhook_posts.sendgrid_events`."""
        return sendgrid_events(self.received(), **choices)

    def signed_events(
        self, events: list[dict[str, Any]], timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Return an Event Webhook body for `events` and the headers that sign it."""
        return self.webhook_signer.signed(events, timestamp)

    def post_events(
        self, url: str, events: list[dict[str, Any]], timestamp: int | None = None
    ) -> requests.Response:
        """POST `events` to `url`, signed, as SendGrid's Event Webhook does."""
        body, headers = self.signed_events(events, timestamp)
        return requests.post(url, data=body, headers=headers, timeout=30)

    def fault_reply(self, status: int, message: str) -> Reply:
        """Return SendGrid's error shape."""
        return Reply.json(status, {"errors": [_error(message, None)]})

    def malformed_status(self, request: Request) -> int:
        """SendGrid accepts with 202."""
        return 202

    def handle(self, request: Request) -> Reply:
        """Authenticate, then send mail or answer an Email Activity query."""
        route = (request.method, request.path.split("?")[0])
        if route not in (("POST", MAIL_SEND), ("GET", MESSAGES)):
            return Reply.json(404, {"errors": [_error("Not found", None)]})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            errors = [
                _error("The provided authorization grant is invalid, expired, or revoked", None)
            ]
            return Reply.json(401, {"errors": errors})
        if request.method == "GET":
            return self._activity(request)
        if self.delay:
            time.sleep(self.delay)
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply.json(400, {"errors": [_error("Bad Request", None)]})
        errors = validate(body)
        if errors:
            return Reply.json(400, {"errors": errors})
        message_id = uuid.uuid4().hex[:22]
        records = expand_recipients(body, message_id)
        return Reply(202, b"", {"X-Message-Id": message_id}, records)

    def _activity(self, request: Request) -> Reply:
        """Answer `GET /v3/messages`: the recorded messages the query matches, newest first."""
        self.activity_requests += 1
        if self.activity_status is not None:
            return self.fault_reply(self.activity_status, "email activity is unavailable")
        params = parse_qs(urlsplit(request.path).query)
        try:
            limit = int(params.get("limit", ["10"])[0])
            if not 0 < limit <= 1000:
                raise ValueError("limit must be more than 0 and at most 1000")
        except ValueError as err:
            return Reply.json(400, {"errors": [_error(str(err), "limit")]})
        try:
            terms = parse_query(params.get("query", [""])[0])
        except ValueError as err:
            return Reply.json(400, {"errors": [_error(str(err), "query")]})
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found = [r for r in reversed(self.received()) if _matches(r, terms)]
        return Reply.json(200, {"messages": [activity_item(r, when) for r in found[:limit]]})
