"""The public /t endpoints: pixel, click redirect, unsubscribe, preferences and browser copy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.app import create_app
from campaign_engine.links import click_url, open_pixel_url, sign
from campaign_engine.models import Consent, Delivery, PolicyDecision, TrackingEvent
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.tracking.fastpath import GIF
from campaign_engine.tracking.web import STATE
from tests.campaign_support import (
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
    template_id,
)
from tests.tracking_support import sent_campaign

SECRET = "test-secret"
BASE = "http://127.0.0.1:8000"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
TARGET = "https://shop.example/new?utm_source=email&x=1"


def path(url: str) -> str:
    return url.removeprefix(BASE)


def events(runtime: Runtime) -> list[TrackingEvent]:
    def read(session: Session) -> list[TrackingEvent]:
        found = list(session.scalars(select(TrackingEvent).order_by(TrackingEvent.id)))
        session.expunge_all()
        return found

    result: list[TrackingEvent] = in_session(runtime, read)
    return result


def consent(runtime: Runtime, contact_id: int, channel: str, purpose: str = "marketing") -> str:
    return str(
        in_session(
            runtime,
            lambda s: s.scalar(
                select(Consent.state).where(
                    Consent.contact_id == contact_id,
                    Consent.channel == channel,
                    Consent.purpose == purpose,
                )
            ),
        )
    )


def assert_gif(response: object) -> None:
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "image/gif"  # type: ignore[attr-defined]
    assert response.data == GIF and len(GIF) == 43  # type: ignore[attr-defined]
    assert "no-store" in response.headers["Cache-Control"]  # type: ignore[attr-defined]


def test_pixel_records_an_open(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    response = client.get(
        path(open_pixel_url(BASE, SECRET, did, utcnow())), headers={"User-Agent": BROWSER}
    )
    assert_gif(response)
    [event] = events(runtime)
    assert (event.delivery_id, event.kind, event.source, event.machine) == (
        did,
        "open",
        "pixel",
        False,
    )
    assert in_session(runtime, lambda s: s.get_one(Delivery, did).opened_at) is not None


def test_forged_pixel_is_not_recorded_but_is_still_a_gif(
    runtime: Runtime, client: FlaskClient
) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    genuine = path(open_pixel_url(BASE, SECRET, did, utcnow()))
    forged = genuine.replace(f"/o/{did}.", f"/o/{did + 1}.")
    wrong_secret = path(open_pixel_url(BASE, "wrong", did, utcnow()))
    unknown = path(open_pixel_url(BASE, SECRET, did + 1000, utcnow()))
    for url in (forged, wrong_secret, unknown, "/t/o/junk.gif"):
        assert_gif(client.get(url, headers={"User-Agent": BROWSER}))
    assert events(runtime) == []


def test_buffered_writes_record_opens_on_flush(runtime: Runtime) -> None:
    tracking = replace(runtime.settings.tracking, writes="buffered", flush_ms=60_000)
    app = create_app(
        runtime=replace(runtime, settings=replace(runtime.settings, tracking=tracking))
    )
    did = sent_campaign(runtime, 1).delivery_ids[0]
    pixel = path(open_pixel_url(BASE, SECRET, did, utcnow()))
    assert_gif(app.test_client().get(pixel, headers={"User-Agent": BROWSER}))
    writer = app.extensions[STATE].links.writer
    writer.flush()
    writer.close()
    assert [(e.kind, e.delivery_id) for e in events(runtime)] == [("open", did)]


def test_expired_pixel_is_not_recorded(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    old = utcnow() - timedelta(days=400)
    assert_gif(client.get(path(open_pixel_url(BASE, SECRET, did, old))))
    assert events(runtime) == []


def test_click_redirects_only_to_the_signed_url(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    response = client.get(
        path(click_url(BASE, SECRET, did, TARGET, utcnow())), headers={"User-Agent": BROWSER}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == TARGET
    [event] = events(runtime)
    assert (event.kind, event.url, event.source, event.machine) == (
        "click",
        TARGET,
        "redirect",
        False,
    )
    assert in_session(runtime, lambda s: s.get_one(Delivery, did).clicked_at) is not None


def test_click_to_a_non_ascii_link_redirects_percent_encoded(
    runtime: Runtime, client: FlaskClient
) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    target = "https://shop.example/café?q=crème brûlée"
    response = client.get(path(click_url(BASE, SECRET, did, target, utcnow())))
    assert response.status_code == 302
    assert (
        response.headers["Location"]
        == "https://shop.example/caf%C3%A9?q=cr%C3%A8me%20br%C3%BBl%C3%A9e"
    )
    assert [e.url for e in events(runtime)] == [target]


def test_tampered_or_malformed_click_is_not_found(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    genuine = path(click_url(BASE, SECRET, did, TARGET, utcnow()))
    other = path(click_url(BASE, SECRET, did, "https://evil.example/", utcnow()))
    tampered = genuine.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    for url in (tampered, "/t/c/junk", f"/t/c/{did}.1.x.aHR0cHM6Ly9ldmlsLmV4YW1wbGUv"):
        response = client.get(url, headers={"User-Agent": BROWSER})
        assert response.status_code == 404
        assert "Location" not in response.headers
        assert b"not valid" in response.data
    assert events(runtime) == []


def test_expired_click_redirects_without_recording(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    old = utcnow() - timedelta(days=400)
    response = client.get(path(click_url(BASE, SECRET, did, TARGET, old)))
    assert (response.status_code, response.headers["Location"]) == (302, TARGET)
    assert events(runtime) == []


def test_head_click_is_recorded_as_a_machine_click(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    response = client.head(
        path(click_url(BASE, SECRET, did, TARGET, utcnow())), headers={"User-Agent": BROWSER}
    )
    assert response.status_code == 302
    [event] = events(runtime)
    assert (event.machine, event.machine_reason) == (True, "head_request")
    assert in_session(runtime, lambda s: s.get_one(Delivery, did).clicked_at) is None


def test_get_unsubscribe_only_asks(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 1)
    response = client.get(f"/t/unsubscribe/{sign(SECRET, 'unsubscribe', sent.delivery_ids[0])}")
    assert response.status_code == 200
    assert b'<form method="post"' in response.data
    assert consent(runtime, sent.contact_ids[0], "email") == "opted_in"
    assert events(runtime) == []


def test_one_click_unsubscribe_opts_out_once(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 2)
    url = f"/t/unsubscribe/{sign(SECRET, 'unsubscribe', sent.delivery_ids[0])}"
    for _ in range(2):
        response = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert b"You are unsubscribed" in response.data
        assert b"/t/preferences/" in response.data
    assert consent(runtime, sent.contact_ids[0], "email") == "opted_out"
    assert consent(runtime, sent.contact_ids[1], "email") == "opted_in"
    assert [(e.kind, e.delivery_id) for e in events(runtime)] == [
        ("unsubscribe", sent.delivery_ids[0])
    ]


def test_the_unsubscribe_pages_form_opts_out(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 1)
    url = f"/t/unsubscribe/{sign(SECRET, 'unsubscribe', sent.delivery_ids[0])}"
    assert client.post(url, data={"confirm": "yes"}).status_code == 200
    assert consent(runtime, sent.contact_ids[0], "email") == "opted_out"


def test_preferences_round_trip_channels_and_topics(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 1)
    contact_id = sent.contact_ids[0]
    url = f"/t/preferences/{sign(SECRET, 'preferences', sent.delivery_ids[0])}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="email" checked' in page and 'value="sms">' in page
    assert 'value="offers" checked' in page

    saved = client.post(url, data={"channel": ["sms"], "topic": ["newsletter", "product_news"]})
    assert saved.status_code == 200 and b"Your preferences are saved" in saved.data

    page = client.get(url).get_data(as_text=True)
    assert 'value="sms" checked' in page and 'value="email">' in page
    assert 'value="offers">' in page and 'value="newsletter" checked' in page
    assert consent(runtime, contact_id, "email") == "opted_out"
    assert consent(runtime, contact_id, "sms") == "opted_in"
    for channel in ("email", "sms", "social"):
        assert consent(runtime, contact_id, channel, "topic:offers") == "opted_out"
        assert consent(runtime, contact_id, channel, "topic:newsletter") == "None"

    client.post(url, data={"channel": ["sms"], "topic": ["offers"]})
    assert consent(runtime, contact_id, "email", "topic:offers") == "opted_in"
    assert consent(runtime, contact_id, "email", "topic:newsletter") == "opted_out"


def test_unknown_channel_or_topic_is_refused(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 1)
    url = f"/t/preferences/{sign(SECRET, 'preferences', sent.delivery_ids[0])}"
    response = client.post(url, data={"channel": ["email", "fax"], "topic": ["gossip"]})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "channel &#39;fax&#39;" in text and "topic &#39;gossip&#39;" in text
    assert consent(runtime, sent.contact_ids[0], "email") == "opted_in"


def test_bad_tokens_get_a_short_not_found_page(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    for kind in ("unsubscribe", "preferences", "view"):
        forged = sign("wrong", kind, did)
        unknown = sign(SECRET, kind, did + 1000)
        other_kind = sign(SECRET, "view" if kind != "view" else "preferences", did)
        for token in (forged, unknown, other_kind, "junk", "1.2.3"):
            for method in ("get", "post") if kind != "view" else ("get",):
                response = getattr(client, method)(f"/t/{kind}/{token}")
                assert response.status_code == 404, (kind, token, method)
                assert b"Link not found" in response.data
    assert events(runtime) == []


def test_view_in_browser_shows_the_message(runtime: Runtime, client: FlaskClient) -> None:
    did = sent_campaign(runtime, 1).delivery_ids[0]
    response = client.get(f"/t/view/{sign(SECRET, 'view', did)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Welcome" in html and f"/t/unsubscribe/{sign(SECRET, 'unsubscribe', did)}" in html
    assert "/t/c/" in html
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]


def test_topic_opt_out_skips_campaigns_of_that_topic(runtime: Runtime, client: FlaskClient) -> None:
    sent = sent_campaign(runtime, 2)  # a cross_sell campaign: the "offers" topic
    leaver, stayer = sent.contact_ids
    url = f"/t/preferences/{sign(SECRET, 'preferences', sent.delivery_ids[0])}"
    client.post(url, data={"channel": ["email"], "topic": ["newsletter"]})

    def relaunch(session: Session) -> int:
        up_sell = [{"channel": "email", "template_id": template_id(session, "up_sell")}]
        body = campaign_body(
            session,
            segment(session, name="again"),
            type="up_sell",
            variants=[{"name": "A", "messages": up_sell}],
        )
        return launch(session, body, sent.clock.now)

    second = in_session(runtime, relaunch)
    make_runner(runtime, sent.clock)[0].tick()

    def outcome(session: Session) -> tuple[list[int], dict[int, str]]:
        queued = session.scalars(select(Delivery.contact_id).where(Delivery.campaign_id == second))
        skipped = session.execute(
            select(PolicyDecision.contact_id, PolicyDecision.reason).where(
                PolicyDecision.campaign_id == second
            )
        )
        return sorted(queued), {contact: reason for contact, reason in skipped}

    assert in_session(runtime, outcome) == ([stayer], {leaver: "topic_opt_out"})
