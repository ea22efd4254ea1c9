"""Provider faults during a campaign: transient ones are retried to exactly-once, permanent fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.channels.base import Channel, ChannelName, OutboundMessage, SendResult
from campaign_engine.channels.sendgrid_email import SendGridEmail
from campaign_engine.channels.twilio_sms import TwilioSms
from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.http_server import FakeHttpServer
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from campaign_engine.fakes.twilio_server import INVALID_NUMBERS, FakeTwilio
from campaign_engine.models import Delivery
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

CLIENT_TIMEOUT = 0.25  # seconds; the fake's timeout fault holds a reply for longer
TRANSIENT = FaultPlan(
    rate_429=0.08,
    retry_after=3,
    rate_5xx=0.08,
    rate_timeout=0.07,
    timeout_seconds=1.0,
    rate_malformed=0.07,
    seed=20260610,
)


def email_campaign(session: Session, contacts: int) -> int:
    for _ in range(contacts):
        contact = make_contact(session)
        make_consent(session, contact.id, "email", ("opted_in", NOON - timedelta(days=30), "t"))
    return launch(session, campaign_body(session, segment(session)))


def sms_campaign(session: Session, phones: Sequence[str]) -> int:
    for phone in phones:
        contact = make_contact(session, phone=phone)
        make_consent(session, contact.id, "sms", ("opted_in", NOON - timedelta(days=30), "t"))
    message = {"channel": "sms", "template_id": template_id(session, "sms_offer")}
    return launch(
        session, campaign_body(session, segment(session), variants=[{"messages": [message]}])
    )


def sendgrid(
    fake: FakeSendGrid, api_key: str = "", from_email: str = "news@shop.example"
) -> SendGridEmail:
    return SendGridEmail(api_key or fake.api_key, from_email, host=fake.url, timeout=CLIENT_TIMEOUT)


def rows(runtime: Runtime) -> list[Any]:
    def read(session: Session) -> list[Any]:
        return list(
            session.execute(
                select(
                    Delivery.id,
                    Delivery.status,
                    Delivery.attempts,
                    Delivery.error,
                    Delivery.not_before,
                    Delivery.sent_at,
                    Delivery.provider_id,
                ).order_by(Delivery.id)
            )
        )

    found: list[Any] = in_session(runtime, read)
    return found


class CalmAfterFirstSend:
    """A channel that switches its fake's faults off once the first batch has been answered."""

    def __init__(self, channel: SendGridEmail, fake: FakeHttpServer) -> None:
        self.channel, self.fake = channel, fake
        self.name: ChannelName = channel.name
        self.max_batch = channel.max_batch

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results = self.channel.send(messages)
        self.fake.set_faults(FaultPlan())
        return results

    def cost(self, message: OutboundMessage) -> float:
        return self.channel.cost(message)

    def close(self) -> None:
        self.channel.close()


def test_transient_sendgrid_faults_end_with_every_message_sent_exactly_once(
    runtime: Runtime,
) -> None:
    in_session(runtime, lambda s: email_campaign(s, 150))
    clock = Clock()
    with FakeSendGrid(faults=TRANSIENT) as fake:
        runner, _ = make_runner(
            runtime, clock, {"email": sendgrid(fake)}, send_batch=10, max_attempts=20
        )
        runner.tick()
        received = Counter(int(r["delivery_id"]) for r in fake.received())

    found = rows(runtime)
    assert len(found) == 150
    assert set(received.values()) == {1}, "a message reached SendGrid twice"
    assert set(received) == {r.id for r in found}
    assert {r.status for r in found} == {"accepted"}
    assert all(r.error is None and r.provider_id for r in found)
    retried = [r for r in found if r.attempts > 1]
    assert retried, "the fault plan should have made some batches fail"
    assert sum(r.attempts for r in found) > len(found)
    assert clock.slept  # it waited out backoffs on the fake clock instead of hammering


def test_lost_replies_are_looked_up_instead_of_sent_again(runtime: Runtime) -> None:
    in_session(runtime, lambda s: email_campaign(s, 80))
    with FakeSendGrid(faults=FaultPlan(rate_lost_reply=0.4, seed=7)) as fake:
        runner, _ = make_runner(
            runtime, Clock(), {"email": sendgrid(fake)}, send_batch=10, max_attempts=20
        )
        runner.tick()
        received = Counter(int(r["delivery_id"]) for r in fake.received())
        looked_up = fake.activity_requests

    found = rows(runtime)
    assert looked_up, "no reply was lost: pick another seed"
    assert set(received.values()) == {1}
    assert {r.status for r in found} == {"accepted"} and set(received) == {r.id for r in found}
    assert {r.attempts for r in found} == {1}  # a lost reply is settled by the lookup at once


def test_rate_limited_batch_is_retried_no_sooner_than_retry_after(runtime: Runtime) -> None:
    in_session(runtime, lambda s: email_campaign(s, 4))
    clock = Clock()
    with FakeSendGrid(faults=FaultPlan(rate_429=1.0, retry_after=30)) as fake:
        channel = CalmAfterFirstSend(sendgrid(fake), fake)
        runner, _ = make_runner(runtime, clock, {"email": channel})
        runner.tick()

    found = rows(runtime)
    assert {r.status for r in found} == {"accepted"}
    assert {r.attempts for r in found} == {2}
    for row in found:
        assert row.not_before.replace(tzinfo=NOON.tzinfo) >= NOON + timedelta(seconds=30)
        assert row.sent_at.replace(tzinfo=NOON.tzinfo) >= NOON + timedelta(seconds=30)
    assert sum(clock.slept) >= 30


def test_bad_api_key_fails_every_message_with_sendgrids_reason(runtime: Runtime) -> None:
    in_session(runtime, lambda s: email_campaign(s, 5))
    with FakeSendGrid() as fake:
        runner, _ = make_runner(runtime, Clock(), {"email": sendgrid(fake, api_key="SG.wrong")})
        runner.tick()
        assert fake.received() == []

    found = rows(runtime)
    assert {r.status for r in found} == {"failed"}
    assert {r.attempts for r in found} == {1}  # a permanent failure is not retried
    assert {r.error for r in found} == {
        "SendGrid 401: The provided authorization grant is invalid, expired, or revoked"
    }


def test_request_sendgrid_rejects_fails_with_the_field_it_names(runtime: Runtime) -> None:
    in_session(runtime, lambda s: email_campaign(s, 3))
    with FakeSendGrid() as fake:
        runner, _ = make_runner(runtime, Clock(), {"email": sendgrid(fake, from_email="")})
        runner.tick()

    found = rows(runtime)
    assert {r.status for r in found} == {"failed"}
    assert {r.error for r in found} == {
        "SendGrid 400: The from object must be provided for every email send. (from)"
    }


def test_transient_twilio_faults_end_with_every_sms_sent_once_and_bad_numbers_failed(
    runtime: Runtime,
) -> None:
    phones = [f"+1415555{i:04d}" for i in range(40)]
    invalid = sorted(INVALID_NUMBERS)[0]
    in_session(runtime, lambda s: sms_campaign(s, [*phones, invalid]))
    clock = Clock()
    with FakeTwilio(faults=TRANSIENT) as fake:
        twilio = TwilioSms(
            fake.account_sid,
            fake.auth_token,
            "+15005550006",
            base_url=fake.url,
            timeout=CLIENT_TIMEOUT,
            concurrency=4,
        )
        channels: dict[str, Channel] = {"sms": twilio}
        runner, _ = make_runner(runtime, clock, channels, send_batch=8, max_attempts=20)
        try:
            runner.tick()
        finally:
            twilio.close()
        received = Counter(r["to"] for r in fake.received())

    assert received == Counter(phones)  # each valid number exactly once
    found = rows(runtime)
    assert Counter(r.status for r in found) == {"accepted": 40, "failed": 1}
    (failed,) = [r for r in found if r.status == "failed"]
    assert failed.error.startswith("Twilio 400 (code 21211)")
    assert any(r.attempts > 1 for r in found)
