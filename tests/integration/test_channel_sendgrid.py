"""The SendGrid channel with the real client against the fake SendGrid server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaign_engine.channels.sendgrid_email import SUBSTITUTION_LIMIT, SendGridEmail
from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from tests.fakes_fixtures import UNSUBSCRIBE, email_message


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def make_channel(fake: FakeSendGrid, timeout: float = 5.0, api_key: str = "") -> SendGridEmail:
    return SendGridEmail(
        api_key or fake.api_key,
        "news@shop.example",
        "Shop",
        host=fake.url,
        timeout=timeout,
        cost_per_message=0.001,
    )


def test_a_batch_of_2500_goes_in_three_requests_and_every_recipient_is_recorded_once(
    fake_sendgrid: FakeSendGrid,
) -> None:
    channel = make_channel(fake_sendgrid)
    messages = [email_message(i) for i in range(1, 2501)]

    results = channel.send(messages)

    assert [r.delivery_id for r in results] == list(range(1, 2501))
    assert {r.outcome for r in results} == {"accepted"}
    assert fake_sendgrid.requests_served == 3
    received = fake_sendgrid.received()
    assert sorted(int(r["delivery_id"]) for r in received) == list(range(1, 2501))
    by_id = {int(r["delivery_id"]): r for r in received}
    one = by_id[1234]
    assert one["to"] == "contact1234@example.com"
    assert one["subject"] == "Hello 1234, your offer"
    assert one["html"] == "<p>Offer for <b>contact 1234</b></p>"
    assert one["text"] == "Plain offer for contact 1234"
    assert one["headers"]["List-Unsubscribe"] == UNSUBSCRIBE
    assert one["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert one["custom_args"] == {"delivery_id": "1234", "campaign_code": "SPRING"}
    assert one["categories"] == ["spring-sale"]
    assert results[1233].provider_id == one["message_id"]


def test_a_message_over_the_substitution_limit_goes_alone_with_plain_content(
    fake_sendgrid: FakeSendGrid,
) -> None:
    channel = make_channel(fake_sendgrid)
    big_html = "<p>" + "é" * SUBSTITUTION_LIMIT + "</p>"
    messages = [email_message(1), email_message(2, html=big_html), email_message(3)]

    results = channel.send(messages)

    assert [r.outcome for r in results] == ["accepted"] * 3
    assert fake_sendgrid.requests_served == 2
    big = next(r for r in fake_sendgrid.received() if r["delivery_id"] == "2")
    assert big["html"] == big_html
    assert big["subject"] == "Hello 2, your offer"


def test_a_429_becomes_retry_with_the_retry_after_seconds(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.set_faults(FaultPlan(rate_429=1.0, retry_after=7))
    results = make_channel(fake_sendgrid).send([email_message(1), email_message(2)])
    assert [(r.outcome, r.retry_after) for r in results] == [("retry", 7.0), ("retry", 7.0)]
    assert fake_sendgrid.received() == []


@pytest.mark.parametrize(
    "plan",
    [FaultPlan(rate_5xx=1.0), FaultPlan(rate_malformed=1.0), FaultPlan(rate_timeout=1.0)],
    ids=["5xx", "malformed", "timeout"],
)
def test_server_errors_timeouts_and_malformed_replies_become_retry(
    fake_sendgrid: FakeSendGrid, plan: FaultPlan
) -> None:
    fake_sendgrid.set_faults(plan)
    results = make_channel(fake_sendgrid, timeout=0.3).send([email_message(1)])
    assert results[0].outcome == "retry"
    assert results[0].reason
    assert fake_sendgrid.received() == []


def test_an_unreachable_server_becomes_retry() -> None:
    fake = FakeSendGrid()
    fake.start()
    fake.stop()
    results = make_channel(fake, timeout=0.5).send([email_message(1)])
    assert results[0].outcome == "retry"


def test_a_bad_request_fails_with_sendgrids_error_message(fake_sendgrid: FakeSendGrid) -> None:
    channel = SendGridEmail(fake_sendgrid.api_key, "", host=fake_sendgrid.url, timeout=5)
    results = channel.send([email_message(1)])
    assert results[0].outcome == "failed"
    assert "from object must be provided" in (results[0].reason or "")
    assert "(from)" in (results[0].reason or "")


def test_a_wrong_api_key_fails(fake_sendgrid: FakeSendGrid) -> None:
    results = make_channel(fake_sendgrid, api_key="SG.wrong").send([email_message(1)])
    assert results[0].outcome == "failed"
    assert "401" in (results[0].reason or "")


def test_the_fake_rejects_more_than_1000_personalizations(fake_sendgrid: FakeSendGrid) -> None:
    channel = make_channel(fake_sendgrid)
    channel.max_batch = 1001
    results = channel.send([email_message(i) for i in range(1001)])
    assert {r.outcome for r in results} == {"failed"}
    assert "at most 1000" in (results[0].reason or "")


def test_a_lost_reply_is_looked_up_and_accepted_instead_of_retried(
    fake_sendgrid: FakeSendGrid,
) -> None:
    fake_sendgrid.set_faults(FaultPlan(rate_lost_reply=1.0))
    results = make_channel(fake_sendgrid).send([email_message(1)])
    assert [r["delivery_id"] for r in fake_sendgrid.received()] == ["1"]
    assert results[0].outcome == "accepted"  # retrying would have sent it twice
    assert results[0].provider_id == fake_sendgrid.received()[0]["message_id"]


def test_a_lost_reply_is_retried_when_email_activity_cannot_say(
    fake_sendgrid: FakeSendGrid,
) -> None:
    fake_sendgrid.set_faults(FaultPlan(rate_lost_reply=1.0))
    fake_sendgrid.activity_status = 403
    results = make_channel(fake_sendgrid).send([email_message(1)])
    assert results[0].outcome == "retry"


def test_cost_is_the_configured_price_per_email(fake_sendgrid: FakeSendGrid) -> None:
    assert make_channel(fake_sendgrid).cost(email_message(1)) == pytest.approx(0.001)
