"""SendGrid's signed Event Webhook, posted by the fake SendGrid, recorded on each backend."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaign_engine.app import create_app
from campaign_engine.channels.sendgrid_email import SendGridEmail
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from campaign_engine.models import Consent, Delivery, Suppression, TrackingEvent
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
)
from tests.tracking_support import SentCampaign, opted_in_contacts, sent_campaign
from tests.webhook_support import SENDGRID, count, serving, with_webhook_secrets

LATER = NOON + timedelta(hours=1)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


@pytest.fixture
def sendgrid_fake() -> FakeSendGrid:
    return FakeSendGrid()  # only signs here; the end-to-end test starts its own


@pytest.fixture
def hooked(runtime: Runtime, sendgrid_fake: FakeSendGrid) -> Runtime:
    return with_webhook_secrets(runtime, sendgrid_fake.public_key_b64)


@pytest.fixture
def hook_client(hooked: Runtime) -> FlaskClient:
    return create_app(runtime=hooked).test_client()


def post_sendgrid(
    client: FlaskClient, fake: FakeSendGrid, events: Sequence[Any], timestamp: int | None = None
) -> TestResponse:
    body, headers = fake.signed_events(list(events), timestamp)
    return client.post(SENDGRID, data=body, headers=headers)


def sg(delivery_id: int, name: str, event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "event": name,
        "delivery_id": str(delivery_id),
        "timestamp": int(LATER.timestamp()),
        "sg_event_id": event_id,
        "email": "someone@example.com",
        **fields,
    }


def delivery(runtime: Runtime, delivery_id: int) -> Delivery:
    def read(session: Session) -> Delivery:
        found = session.get_one(Delivery, delivery_id)
        session.expunge(found)
        return found

    found: Delivery = in_session(runtime, read)
    return found


def test_signed_events_are_recorded_and_a_replayed_webhook_counts_once(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    sent = sent_campaign(runtime, 2)
    first, second = sent.delivery_ids
    events = [
        sg(first, "processed", "p1"),
        sg(first, "delivered", "d1"),
        sg(second, "delivered", "d2"),
        sg(10**12, "delivered", "d3"),
    ]

    answer = post_sendgrid(hook_client, sendgrid_fake, events)
    replay = post_sendgrid(hook_client, sendgrid_fake, events)

    assert answer.status_code == 200
    assert answer.json == {"recorded": 2, "duplicates": 0, "unknown": 1, "ignored": 1}
    assert replay.json == {"recorded": 0, "duplicates": 2, "unknown": 1, "ignored": 1}
    assert count(runtime, TrackingEvent) == 2
    assert delivery(runtime, first).delivered_at == LATER


@pytest.mark.parametrize("problem", ["tampered", "wrong-key", "stale", "unsigned"])
def test_unverifiable_sendgrid_webhooks_are_refused_with_403(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid, problem: str
) -> None:
    sent = sent_campaign(runtime, 1)
    events = [sg(sent.delivery_ids[0], "delivered", "d1")]
    signer = FakeSendGrid() if problem == "wrong-key" else sendgrid_fake
    stamp = int(utcnow().timestamp()) - 3600 if problem == "stale" else None
    body, headers = signer.signed_events(events, stamp)
    if problem == "tampered":
        body = body.replace(b"delivered", b"spamreport")
    if problem == "unsigned":
        headers = {"Content-Type": "application/json"}

    answer = hook_client.post(SENDGRID, data=body, headers=headers)

    assert answer.status_code == 403
    assert count(runtime, TrackingEvent) == 0


def test_without_a_configured_key_the_sendgrid_webhook_answers_503(
    client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    answer = post_sendgrid(client, sendgrid_fake, [])
    assert answer.status_code == 503
    assert "CE_SENDGRID_WEBHOOK_KEY is not set" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"[{oops", "not valid JSON"), (b'{"event": "open"}', "JSON array")],
)
def test_a_signed_body_that_is_not_an_array_of_events_is_a_400(
    hook_client: FlaskClient, sendgrid_fake: FakeSendGrid, body: bytes, message: str
) -> None:
    answer = hook_client.post(
        SENDGRID, data=body, headers=sendgrid_fake.webhook_signer.headers(body)
    )
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)


def test_events_without_a_usable_delivery_id_are_ignored_not_failed(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    events: list[Any] = [
        {"event": "delivered", "timestamp": 1, "sg_event_id": "a"},
        {"event": "delivered", "delivery_id": "abc", "timestamp": 1},
        {"event": "delivered", "delivery_id": "12.5", "timestamp": 1},
        {"event": "delivered", "delivery_id": str(10**30), "timestamp": 1},
        {"event": "delivered", "delivery_id": None, "timestamp": 1},
        "delivered",
    ]
    answer = post_sendgrid(hook_client, sendgrid_fake, events)
    assert answer.status_code == 200
    assert answer.json == {"recorded": 0, "duplicates": 0, "unknown": 0, "ignored": 6}


def test_a_hard_bounce_suppresses_the_address_and_a_blocked_one_does_not(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    sent = sent_campaign(runtime, 2)
    hard, soft = sent.delivery_ids
    events = [sg(hard, "bounce", "b1", type="bounce"), sg(soft, "bounce", "b2", type="blocked")]

    assert post_sendgrid(hook_client, sendgrid_fake, events).json["recorded"] == 2

    def check(session: Session) -> None:
        suppressed = dict(session.execute(select(Suppression.value, Suppression.reason)).all())
        assert suppressed == {session.get_one(Delivery, hard).address.lower(): "hard_bounce"}
        assert session.get_one(Delivery, soft).bounced_at == LATER

    in_session(runtime, check)


def test_a_spam_report_suppresses_the_address_and_opts_the_contact_out(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    sent = sent_campaign(runtime, 1)
    did, contact_id = sent.delivery_ids[0], sent.contact_ids[0]

    post_sendgrid(hook_client, sendgrid_fake, [sg(did, "spamreport", "s1")])

    def check(session: Session) -> None:
        assert session.scalars(select(Suppression.reason)).all() == ["spam_report"]
        consent = session.scalars(
            select(Consent).where(Consent.contact_id == contact_id, Consent.channel == "email")
        ).one()
        assert (consent.state, consent.source) == ("opted_out", "spam_report")
        assert session.get_one(Delivery, did).complained_at == LATER

    in_session(runtime, check)


def test_a_machine_open_is_flagged_and_only_the_human_open_counts(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    sent = sent_campaign(runtime, 1)
    did = sent.delivery_ids[0]
    machine = sg(did, "open", "o1", sg_machine_open=True, useragent="Mozilla/5.0")
    human = sg(did, "open", "o2", sg_machine_open=False, useragent=BROWSER)
    human["timestamp"] += 600

    post_sendgrid(hook_client, sendgrid_fake, [machine, human])

    def check(session: Session) -> None:
        reasons = session.execute(
            select(TrackingEvent.dedupe_key, TrackingEvent.machine_reason).order_by(
                TrackingEvent.dedupe_key
            )
        ).all()
        assert [tuple(r) for r in reasons] == [("o1", "provider_machine_open"), ("o2", None)]
        assert session.get_one(Delivery, did).opened_at == LATER + timedelta(seconds=600)

    in_session(runtime, check)


def test_text_no_database_can_store_is_cleaned_not_failed(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    body = json.dumps(
        [sg(did, "click", "c\u0000\ud800", url="https://x.example/\u0000\ud800", useragent=BROWSER)]
    ).encode()
    answer = hook_client.post(
        SENDGRID, data=body, headers=sendgrid_fake.webhook_signer.headers(body)
    )
    assert answer.status_code == 200 and answer.json["recorded"] == 1


def test_a_batch_of_1000_events_is_recorded_with_a_handful_of_statements(
    runtime: Runtime, hook_client: FlaskClient, sendgrid_fake: FakeSendGrid
) -> None:
    sent = sent_campaign(runtime, 100)
    events = [
        sg(did, kind, f"{kind}-{did}-{n}", useragent=BROWSER, url="https://shop.example/")
        for did in sent.delivery_ids
        for kind in ("delivered", "open", "click")
        for n in range(3 if kind == "delivered" else 4 if kind == "open" else 3)
    ]
    assert len(events) == 1000
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        answer = post_sendgrid(hook_client, sendgrid_fake, events)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)

    assert answer.json == {"recorded": 1000, "duplicates": 0, "unknown": 0, "ignored": 0}
    assert len(statements) < 20
    assert count(runtime, TrackingEvent) == 1000


@pytest.fixture
def two_sent(runtime: Runtime) -> SentCampaign:
    """A campaign sent to two contacts, once per test however many examples hypothesis runs."""
    return sent_campaign(runtime, 2)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
NAMES = ["processed", "delivered", "bounce", "dropped", "deferred", "spamreport", "open"]
NAMES += ["click", "unsubscribe", "group_unsubscribe"]


def sendgrid_like(delivery_ids: Sequence[int]) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from(delivery_ids)
    return st.fixed_dictionaries(
        {
            "event": st.sampled_from(NAMES) | JSON,
            "delivery_id": ids.map(str) | ids | JSON,
            "timestamp": st.integers(0, 2**31) | JSON,
        },
        optional={
            "sg_event_id": st.text(max_size=200) | JSON,
            "type": st.sampled_from(["bounce", "blocked"]) | JSON,
            "sg_machine_open": JSON,
            "url": JSON,
            "useragent": JSON,
            "reason": JSON,
        },
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_signed_json_gets_a_4xx_or_200_never_a_500(
    two_sent: SentCampaign,
    hook_client: FlaskClient,
    sendgrid_fake: FakeSendGrid,
    data: st.DataObject,
) -> None:
    events = sendgrid_like(two_sent.delivery_ids)
    payload = data.draw(st.lists(events | JSON, max_size=6) | JSON)
    body = json.dumps(payload).encode()
    answer = hook_client.post(
        SENDGRID, data=body, headers=sendgrid_fake.webhook_signer.headers(body)
    )
    assert answer.status_code in (200, 400), answer.get_data(as_text=True)


def test_sendgrid_events_reach_the_deliveries_of_a_campaign_sent_through_sendgrid(
    hooked: Runtime,
) -> None:
    """End to end: send through the SendGrid fake, which then posts its events over HTTP."""
    with (
        FakeSendGrid() as fake,
        serving(with_webhook_secrets(hooked, fake.public_key_b64)) as base_url,
    ):
        channel = SendGridEmail(fake.api_key, "news@shop.example", host=fake.url, timeout=5)

        def set_up(session: Session) -> int:
            opted_in_contacts(session, 4)
            return launch(session, campaign_body(session, segment(session)))

        campaign_id = in_session(hooked, set_up)
        try:
            runner, _ = make_runner(hooked, Clock(), {"email": channel})
            runner.tick()
        finally:
            channel.close()
        ids = sorted(int(r["delivery_id"]) for r in fake.received())
        assert len(ids) == 4
        opened, clicked, bounced, delivered_only = ids
        events = fake.events_for_accepted(
            opens=[opened], clicks={clicked: "https://shop.example/a"}, bounces=[bounced], at=LATER
        )

        answer = fake.post_events(f"{base_url}{SENDGRID}", events)

    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == len(events) - 4  # the four "processed" are ignored

    def check(session: Session) -> None:
        rows = {
            d.id: d
            for d in session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))
        }
        second = timedelta(seconds=1)
        assert rows[opened].opened_at == LATER + timedelta(seconds=60)
        assert rows[clicked].clicked_at == LATER + timedelta(seconds=120)
        assert rows[bounced].bounced_at == LATER + second
        assert rows[bounced].delivered_at is None
        assert {rows[i].delivered_at for i in (opened, clicked, delivered_only)} == {LATER + second}
        assert rows[delivered_only].opened_at is None
        assert session.scalars(select(Suppression.value)).all() == [rows[bounced].address.lower()]

    in_session(hooked, check)
