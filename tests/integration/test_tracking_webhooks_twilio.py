"""Twilio's signed SMS callbacks, posted by the fake Twilio: status events, STOP and START."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaign_engine.app import create_app
from campaign_engine.fakes.twilio_server import FakeTwilio
from campaign_engine.models import Consent, ConsentEvent, Delivery, Suppression
from campaign_engine.runtime import Runtime
from tests.campaign_support import NOON, in_session
from tests.factories import make_consent, make_contact
from tests.tracking_support import opted_in_contacts
from tests.webhook_support import (
    INBOUND,
    STATUS,
    count,
    public,
    sms_campaign,
    with_webhook_secrets,
)


@pytest.fixture
def twilio_fake() -> FakeTwilio:
    return FakeTwilio(auth_token="twilio-secret")


@pytest.fixture
def hooked(runtime: Runtime, twilio_fake: FakeTwilio) -> Runtime:
    return with_webhook_secrets(runtime, twilio_token=twilio_fake.auth_token)


@pytest.fixture
def hook_client(hooked: Runtime) -> FlaskClient:
    return create_app(runtime=hooked).test_client()


@pytest.fixture
def twilio_running(twilio_fake: FakeTwilio) -> Iterator[FakeTwilio]:
    with twilio_fake:
        yield twilio_fake


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_signed_twilio_status_callbacks_are_recorded_and_undelivered_30005_suppresses_the_phone(
    hooked: Runtime, hook_client: FlaskClient, twilio_running: FakeTwilio
) -> None:
    fake = twilio_running
    sms_campaign(hooked, fake, public(hooked, STATUS), ["+14155550101", "+14155550102"])
    messages = {r["to"]: r for r in fake.received()}
    assert len(messages) == 2
    gone, fine = messages["+14155550101"], messages["+14155550102"]

    answers = []
    for message, status, code in [
        (gone, "sent", None),
        (gone, "undelivered", 30005),
        (fine, "delivered", None),
        (fine, "delivered", None),  # Twilio retried the callback
    ]:
        form, headers = fake.status_callback(
            message["status_callback"], message["sid"], status, code
        )
        answers.append(
            hook_client.post(local(message["status_callback"]), data=form, headers=headers)
        )

    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json["recorded"] for a in answers] == [0, 1, 1, 0]
    assert (answers[0].json["ignored"], answers[3].json["duplicates"]) == (1, 1)

    def check(session: Session) -> None:
        assert session.execute(select(Suppression.kind, Suppression.value)).all() == [
            ("phone", "+14155550101")
        ]
        by_phone = {d.address: d for d in session.scalars(select(Delivery))}
        assert by_phone["+14155550101"].bounced_at is not None
        assert by_phone["+14155550102"].delivered_at is not None

    in_session(hooked, check)


def test_a_soft_undelivered_status_suppresses_nothing(
    hooked: Runtime, hook_client: FlaskClient, twilio_running: FakeTwilio
) -> None:
    fake = twilio_running
    sms_campaign(hooked, fake, public(hooked, STATUS), ["+14155550103"])
    (message,) = fake.received()
    form, headers = fake.status_callback(
        message["status_callback"], message["sid"], "undelivered", 30008
    )
    answer = hook_client.post(local(message["status_callback"]), data=form, headers=headers)
    assert answer.json["recorded"] == 1
    assert count(hooked, Suppression) == 0


@pytest.mark.parametrize("problem", ["unsigned", "forged", "other-url", "changed-form"])
def test_unverifiable_twilio_callbacks_are_refused_with_403(
    hook_client: FlaskClient, hooked: Runtime, twilio_fake: FakeTwilio, problem: str
) -> None:
    url = public(hooked, STATUS) + "?delivery_id=1"
    form, headers = twilio_fake.status_callback(url, "SM1", "delivered")
    if problem == "unsigned":
        headers = {}
    if problem == "forged":
        _, headers = FakeTwilio(auth_token="another-token").status_callback(url, "SM1", "delivered")
    if problem == "other-url":
        _, headers = twilio_fake.status_callback(url.replace("=1", "=2"), "SM1", "delivered")
    if problem == "changed-form":
        form["MessageStatus"] = "undelivered"
    answer = hook_client.post(local(url), data=form, headers=headers)
    assert answer.status_code == 403


def test_without_an_auth_token_the_twilio_webhooks_answer_503(
    client: FlaskClient, twilio_fake: FakeTwilio
) -> None:
    form, headers = twilio_fake.inbound("http://127.0.0.1:8000" + INBOUND, "+14155550100", "STOP")
    answer = client.post(INBOUND, data=form, headers=headers)
    assert answer.status_code == 503
    assert "CE_TWILIO_AUTH_TOKEN is not set" in answer.get_data(as_text=True)


def text_in(
    client: FlaskClient, hooked: Runtime, fake: FakeTwilio, phone: str, body: str
) -> TestResponse:
    form, headers = fake.inbound(public(hooked, INBOUND), phone, body)
    return client.post(INBOUND, data=form, headers=headers)


def test_stop_opts_every_contact_with_the_number_out_and_start_opts_them_back_in(
    hooked: Runtime, hook_client: FlaskClient, twilio_fake: FakeTwilio
) -> None:
    phone = "+14155550199"

    def set_up(session: Session) -> list[int]:
        ids = [make_contact(session, phone=phone).id for _ in range(2)]
        for contact_id in ids:
            make_consent(session, contact_id, "sms", ("opted_in", NOON, "import"))
        return ids

    contacts = in_session(hooked, set_up)

    stop = text_in(hook_client, hooked, twilio_fake, phone, "  Stop ")
    start = text_in(hook_client, hooked, twilio_fake, phone, "START")

    assert stop.status_code == 200 and stop.content_type.startswith("text/xml")
    assert "<Response><Message>You are unsubscribed" in stop.get_data(as_text=True)
    assert "subscribed to our texts again" in start.get_data(as_text=True)

    def check(session: Session) -> None:
        for contact_id in contacts:
            history = session.execute(
                select(ConsentEvent.state, ConsentEvent.source)
                .where(ConsentEvent.contact_id == contact_id, ConsentEvent.channel == "sms")
                .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
            ).all()
            assert [tuple(h) for h in history] == [
                ("opted_in", "import"),
                ("opted_out", "inbound_sms"),
                ("opted_in", "inbound_sms"),
            ]
            consent = session.scalars(
                select(Consent).where(Consent.contact_id == contact_id, Consent.channel == "sms")
            ).one()
            assert (consent.state, consent.source) == ("opted_in", "inbound_sms")

    in_session(hooked, check)


def test_help_gets_the_keywords_and_other_texts_get_no_reply(
    hooked: Runtime, hook_client: FlaskClient, twilio_fake: FakeTwilio
) -> None:
    help_reply = text_in(hook_client, hooked, twilio_fake, "+14155550100", "help").get_data(
        as_text=True
    )
    chat = text_in(hook_client, hooked, twilio_fake, "+14155550100", "Stop sending me shoes?")
    assert "Reply STOP to unsubscribe" in help_reply
    assert "<Message>" not in chat.get_data(as_text=True)
    assert chat.status_code == 200


def test_a_stop_from_an_unknown_number_gets_a_polite_reply_and_changes_nothing(
    hooked: Runtime, hook_client: FlaskClient, twilio_fake: FakeTwilio
) -> None:
    in_session(hooked, lambda s: opted_in_contacts(s, 1, "sms"))
    answer = text_in(hook_client, hooked, twilio_fake, "+14155550177", "STOP")
    assert "not on our list" in answer.get_data(as_text=True)
    assert count(hooked, ConsentEvent) == 1  # only the opt-in made above
