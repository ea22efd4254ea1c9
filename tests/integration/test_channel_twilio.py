"""The Twilio channel with the real client against the fake Twilio server."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from campaign_engine.channels.twilio_sms import TwilioSms
from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.twilio_server import FakeTwilio
from tests.fakes_fixtures import sms_message

CALLBACK = "https://ce.example/hooks/twilio?source=sms"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def channel(fake_twilio: FakeTwilio) -> Iterator[TwilioSms]:
    channel = make_channel(fake_twilio)
    yield channel
    channel.close()


def make_channel(fake: FakeTwilio, timeout: float = 5.0) -> TwilioSms:
    return TwilioSms(
        fake.account_sid,
        fake.auth_token,
        "+15005550006",
        base_url=fake.url,
        status_callback=CALLBACK,
        timeout=timeout,
        cost_per_segment=0.0075,
        concurrency=4,
    )


def test_messages_are_sent_concurrently_and_answered_in_order(
    channel: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    messages = [sms_message(i, to=f"+1415555{i:04d}") for i in range(1, 41)]
    results = channel.send(messages)

    assert [r.delivery_id for r in results] == list(range(1, 41))
    assert {r.outcome for r in results} == {"accepted"}
    sids = {r["sid"] for r in fake_twilio.received()}
    assert {r.provider_id for r in results} == sids and len(sids) == 40


def test_the_status_callback_url_carries_the_delivery_id(
    channel: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    channel.send([sms_message(42)])
    [received] = fake_twilio.received()
    callback = urlsplit(received["status_callback"])
    assert callback.netloc == "ce.example"
    assert parse_qs(callback.query) == {"source": ["sms"], "delivery_id": ["42"]}
    assert received["from"] == "+15005550006"


def test_an_invalid_e164_number_fails_without_a_request(
    channel: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    results = channel.send([sms_message(1, to="0044 7700 900123"), sms_message(2, to="+0123")])
    assert [r.outcome for r in results] == ["failed", "failed"]
    assert "E.164" in (results[0].reason or "")
    assert fake_twilio.requests_served == 0


def test_twilios_21211_invalid_number_fails_with_its_code(channel: TwilioSms) -> None:
    [result] = channel.send([sms_message(1, to="+15005550001")])
    assert result.outcome == "failed"
    assert "21211" in (result.reason or "")


def test_a_429_becomes_retry_honouring_retry_after(
    channel: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.set_faults(FaultPlan(rate_429=1.0, retry_after=12))
    results = channel.send([sms_message(1), sms_message(2)])
    assert [(r.outcome, r.retry_after) for r in results] == [("retry", 12.0), ("retry", 12.0)]
    assert fake_twilio.received() == []


@pytest.mark.parametrize(
    "plan",
    [FaultPlan(rate_5xx=1.0), FaultPlan(rate_malformed=1.0), FaultPlan(rate_timeout=1.0)],
    ids=["5xx", "malformed", "timeout"],
)
def test_server_errors_timeouts_and_malformed_replies_become_retry(
    fake_twilio: FakeTwilio, plan: FaultPlan
) -> None:
    fake_twilio.set_faults(plan)
    channel = make_channel(fake_twilio, timeout=0.3)
    try:
        [result] = channel.send([sms_message(1)])
    finally:
        channel.close()
    assert result.outcome == "retry"
    assert fake_twilio.received() == []


def test_cost_is_segments_times_the_price_per_segment(channel: TwilioSms) -> None:
    assert channel.cost(sms_message(1, text="a" * 160)) == pytest.approx(0.0075)
    assert channel.cost(sms_message(1, text="a" * 161)) == pytest.approx(0.015)
    assert channel.cost(sms_message(1, text="☀" * 71)) == pytest.approx(0.015)


def test_the_fake_lists_received_messages_over_get(
    channel: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    channel.send([sms_message(1), sms_message(2)])
    url = f"{fake_twilio.url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    listed = requests.get(url, auth=(fake_twilio.account_sid, fake_twilio.auth_token), timeout=5)
    assert listed.status_code == 200
    assert len(listed.json()["messages"]) == 2
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401
