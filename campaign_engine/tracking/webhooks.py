"""Provider webhook endpoints: SendGrid's Event Webhook, Twilio's status and inbound SMS."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from campaign_engine.db import transaction
from campaign_engine.models.types import utcnow
from campaign_engine.tracking import sendgrid_events, twilio_events
from campaign_engine.tracking.provider_events import record_provider_events
from campaign_engine.web import current_runtime

tracking_webhooks = Blueprint("tracking_webhooks", __name__, url_prefix="/t/webhooks")


@tracking_webhooks.post("/sendgrid")
def sendgrid() -> tuple[Response, int]:
    """Record a signed batch of SendGrid events (up to a thousand or so per request)."""
    runtime = current_runtime()
    tracking = runtime.settings.tracking
    batch = sendgrid_events.read_sendgrid_webhook(
        tracking.sendgrid_webhook_key,
        request.get_data(),
        request.headers.get(sendgrid_events.SIGNATURE_HEADER),
        request.headers.get(sendgrid_events.TIMESTAMP_HEADER),
        time.time(),
        tracking.webhook_max_age_seconds,
    )
    with transaction(runtime.sessions) as session:
        counts = record_provider_events(session, batch, tracking.machine_rules)
    return jsonify(counts.as_dict()), 200


@tracking_webhooks.post("/twilio/status")
def twilio_status() -> tuple[Response, int]:
    """Record a signed SMS status callback."""
    runtime = current_runtime()
    settings = runtime.settings
    batch = twilio_events.read_status(
        settings.channels.twilio_auth_token,
        _twilio_url(settings.dispatch.public_url),
        request.args,
        request.form,
        request.headers.get(twilio_events.SIGNATURE_HEADER),
        utcnow(),
    )
    with transaction(runtime.sessions) as session:
        counts = record_provider_events(session, batch, settings.tracking.machine_rules)
    return jsonify(counts.as_dict()), 200


@tracking_webhooks.post("/twilio/inbound")
def twilio_inbound() -> Response:
    """Answer a signed incoming SMS in TwiML, applying STOP and START."""
    runtime = current_runtime()
    settings = runtime.settings
    message = twilio_events.read_inbound(
        settings.channels.twilio_auth_token,
        _twilio_url(settings.dispatch.public_url),
        request.form,
        request.headers.get(twilio_events.SIGNATURE_HEADER),
    )
    with transaction(runtime.sessions) as session:
        reply = twilio_events.answer_inbound(session, message, utcnow())
    return Response(twilio_events.twiml(reply), 200, content_type="text/xml")


def _twilio_url(public_url: str) -> str:
    return twilio_events.public_request_url(public_url, request.path, request.query_string)
