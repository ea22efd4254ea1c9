"""Test support for provider webhooks: an app that trusts the fakes, served or sent through."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from campaign_engine.app import create_app
from campaign_engine.channels.twilio_sms import TwilioSms
from campaign_engine.fakes.twilio_server import FakeTwilio
from campaign_engine.runtime import Runtime
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
    template_id,
)
from tests.factories import make_consent, make_contact

SENDGRID = "/t/webhooks/sendgrid"
STATUS = "/t/webhooks/twilio/status"
INBOUND = "/t/webhooks/twilio/inbound"


def with_webhook_secrets(
    runtime: Runtime, sendgrid_key: str = "", twilio_token: str = ""
) -> Runtime:
    """Return `runtime` configured with a SendGrid webhook key and a Twilio auth token."""
    s = runtime.settings
    tracking = replace(s.tracking, sendgrid_webhook_key=sendgrid_key)
    channels = replace(s.channels, twilio_auth_token=twilio_token)
    return replace(runtime, settings=replace(s, tracking=tracking, channels=channels))


def public(runtime: Runtime, path: str) -> str:
    """Return the public URL of `path`, as a provider is told to call it."""
    return runtime.settings.dispatch.public_url + path


def count(runtime: Runtime, model: Any) -> int:
    """Return how many rows `model` has."""
    return int(in_session(runtime, lambda s: s.scalar(select(func.count()).select_from(model))))


class serving:
    """Serve the app for `runtime` on a loopback port while the `with` block runs."""

    def __init__(self, runtime: Runtime) -> None:
        self.server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def sms_campaign(runtime: Runtime, fake: FakeTwilio, callback: str, phones: Sequence[str]) -> int:
    """Send an SMS campaign to `phones` through the Twilio fake; return the campaign id."""

    def set_up(session: Session) -> int:
        for phone in phones:
            contact = make_contact(session, phone=phone)
            make_consent(session, contact.id, "sms", ("opted_in", NOON - timedelta(days=30), "t"))
        message = {"channel": "sms", "template_id": template_id(session, "sms_offer")}
        body = campaign_body(session, segment(session), variants=[{"messages": [message]}])
        return launch(session, body)

    campaign_id: int = in_session(runtime, set_up)
    channel = TwilioSms(
        fake.account_sid,
        fake.auth_token,
        "+15005550006",
        base_url=fake.url,
        status_callback=callback,
    )
    try:
        runner, _ = make_runner(runtime, Clock(), {"sms": channel})
        runner.tick()
    finally:
        channel.close()
    return campaign_id
