"""Journey entries (re-entry, events, segments, schedules, the API) and webhook calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.channels.webhook_signing import verify
from campaign_engine.journeys.enrollment import enroll
from campaign_engine.journeys.entries import (
    enter_by_events,
    enter_by_segments,
    enter_on_schedule,
)
from campaign_engine.journeys.runner import tick
from campaign_engine.journeys.webhooks import deliver_webhooks
from campaign_engine.models import Contact, JourneyVersion, JourneyWebhookCall
from campaign_engine.runtime import Runtime
from tests.campaign_support import NOON, in_session, segment, template_id
from tests.factories import make_api_key, make_contact
from tests.integration.test_journey_runner import (
    DAY,
    HOUR,
    contact,
    definition,
    enrollments,
    external_id,
    node,
    publish,
    send,
    set_up,
)

SECRET = "hook-secret"


def simple(**settings: Any) -> Any:
    """Return a journey body: an API entry, one day's wait, an exit."""
    return lambda t: definition(
        node("in", "entry_api", next="wait"),
        node("wait", "delay", duration={"days": 1}, next="done"),
        node("done", "exit"),
        **settings,
    )


def enroll_again(runtime: Runtime, version_id: int, contact_id: int, at: Any) -> int:
    """Enroll one contact again at `at`; return how many entered."""
    return int(
        in_session(
            runtime,
            lambda s: enroll(s, s.get(JourneyVersion, version_id), [contact_id], "in", at),
        )
    )


@pytest.mark.parametrize(
    ("settings", "while_in", "after_exit", "later"),
    [
        ({"reentry": "never"}, 0, 0, 0),
        ({"reentry": "after_exit"}, 0, 1, 0),
        ({"reentry": "after_exit", "max_entries": 2}, 0, 1, 0),
        ({"reentry": "cooldown", "cooldown_days": 3}, 0, 0, 1),
    ],
)
def test_re_entry_follows_the_journey_settings(
    runtime: Runtime, settings: dict[str, Any], while_in: int, after_exit: int, later: int
) -> None:
    version_id, (person,) = set_up(runtime, simple(**settings))
    assert enroll_again(runtime, version_id, person, NOON + HOUR) == while_in
    tick(runtime.sessions, NOON + DAY)  # the first enrollment completes
    assert enrollments(runtime)[0].status == "completed"
    assert enroll_again(runtime, version_id, person, NOON + DAY) == after_exit
    entered = enroll_again(runtime, version_id, person, NOON + 4 * DAY)
    assert entered == later or (settings.get("max_entries") is None and entered == after_exit)
    numbers = [e.entry_number for e in enrollments(runtime)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_an_ingested_event_enters_contacts_on_the_next_entries_pass(runtime: Runtime) -> None:
    def work(session: Session) -> tuple[int, int]:
        t = template_id(session, "welcome")
        publish(
            session,
            definition(
                node(
                    "viewed",
                    "entry_event",
                    event_type="viewed_product",
                    filters=[{"property": "sku", "op": "eq", "value": "S1"}],
                    next="mail",
                ),
                send("mail", t, None),
            ),
        )
        return contact(session), contact(session)

    buyer, browser = in_session(runtime, work)
    assert in_session(runtime, lambda s: enter_by_events(s, NOON)).entered == 0  # cursor starts
    records = [
        {"contact_id": external_id(runtime, buyer), "type": "viewed_product",
         "occurred_at": NOON.isoformat(), "properties": {"sku": "S1"}},
        {"contact_id": external_id(runtime, browser), "type": "viewed_product",
         "occurred_at": NOON.isoformat(), "properties": {"sku": "S2"}},
        {"contact_id": external_id(runtime, browser), "type": "viewed_product",
         "occurred_at": (NOON - 3 * DAY).isoformat(), "properties": {"sku": "S1"}},
    ]  # fmt: skip
    from campaign_engine.ingest.batch import ingest_batch
    from campaign_engine.ingest.records import Kind

    in_session(runtime, lambda s: ingest_batch(s, Kind.events, {"records": records}, 100))
    done = in_session(runtime, lambda s: enter_by_events(s, NOON + timedelta(seconds=1)))
    assert (done.entered, done.walked) == (1, 3)  # the old event is a backfill
    (row,) = enrollments(runtime)
    assert (row.contact_id, row.node_id, row.status) == (buyer, "viewed", "active")
    assert in_session(runtime, lambda s: enter_by_events(s, NOON + HOUR)).entered == 0
    assert tick(runtime.sessions, NOON + HOUR) == 2


def test_contacts_who_join_the_segment_enter_once(runtime: Runtime) -> None:
    def work(session: Session) -> None:
        vip = {"version": 1, "root": {"type": "attribute", "field": "city", "op": "eq",
                                      "value": "Paris"}}  # fmt: skip
        publish(
            session,
            definition(
                node("joined", "entry_segment", segment_id=segment(session, vip), next="done"),
                node("done", "exit"),
                reentry="after_exit",
            ),
        )
        make_contact(session, city="Paris")
        make_contact(session, city="Lyon")

    in_session(runtime, work)
    assert in_session(runtime, lambda s: enter_by_segments(s, NOON)) == 1  # members at publish
    tick(runtime.sessions, NOON)
    assert in_session(runtime, lambda s: enter_by_segments(s, NOON + HOUR)) == 0  # still in it

    def move(session: Session) -> None:
        for person in session.scalars(select(Contact)):
            person.city = "Lyon" if person.city == "Paris" else "Paris"

    in_session(runtime, move)
    assert in_session(runtime, lambda s: enter_by_segments(s, NOON + 2 * HOUR)) == 1
    in_session(runtime, move)  # the first one comes back: it joined again
    assert in_session(runtime, lambda s: enter_by_segments(s, NOON + 3 * HOUR)) == 1
    assert len(enrollments(runtime)) == 3


def test_a_recurring_entry_enrolls_the_segment_when_its_schedule_runs(runtime: Runtime) -> None:
    def work(session: Session) -> None:
        publish(
            session,
            definition(
                node(
                    "daily",
                    "entry_recurring",
                    segment_id=segment(session),
                    schedule={"every_days": 1, "at": "09:00", "time_zone": "UTC"},
                    next="done",
                ),
                node("done", "exit"),
                reentry="after_exit",
            ),
        )
        make_contact(session)
        make_contact(session)

    in_session(runtime, work)
    assert in_session(runtime, lambda s: enter_on_schedule(s, NOON + HOUR)) == 0  # runs at 09:00
    assert in_session(runtime, lambda s: enter_on_schedule(s, NOON + DAY)) == 2
    assert in_session(runtime, lambda s: enter_on_schedule(s, NOON + DAY + HOUR)) == 0
    tick(runtime.sessions, NOON + DAY + HOUR)
    assert in_session(runtime, lambda s: enter_on_schedule(s, NOON + 3 * DAY)) == 2  # one run


def test_the_api_enrolls_named_contacts_with_the_campaigns_scope(
    runtime: Runtime, client: FlaskClient
) -> None:
    def work(session: Session) -> tuple[int, int, str, str, str]:
        version = publish(session, simple()(template_id(session, "welcome")))
        people = [make_contact(session) for _ in range(2)]
        _, token = make_api_key(session, "campaigns")
        _, reader = make_api_key(session, "read")
        return version.journey_id, people[0].id, people[1].external_id, token, reader

    journey_id, first, second, token, reader = in_session(runtime, work)
    url = f"/api/v1/journeys/{journey_id}/enroll"
    body = {"contact_ids": [first, 999_999], "external_ids": [second, "nobody"]}
    refused = client.post(url, json=body, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
    reply = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {"entered": 2, "refused": 0, "unknown": ["999999", "nobody"]}
    again = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert again.get_json()["refused"] == 2
    missing = client.post(
        "/api/v1/journeys/999/enroll", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 404


# --- webhooks -----------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    """Answers /ok with JSON at once and /slow after two seconds; keeps what it was sent."""

    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.seen.append((self.path, dict(self.headers), body))
        if self.path == "/slow":
            time.sleep(2)
        payload = json.dumps({"score": 7}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except BrokenPipeError:
            pass  # the caller timed out and hung up, as the test intends

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def hooked(url: str) -> Any:
    return lambda t: definition(
        node("in", "entry_api", next="hook"),
        node(
            "hook",
            "webhook",
            url=url,
            payload={"offer": "spring"},
            save_response_to="crm",
            timeout_seconds=1,
            retries=1,
            next="done",
        ),
        node("done", "exit"),
    )


def calls(runtime: Runtime) -> list[JourneyWebhookCall]:
    return list(in_session(runtime, lambda s: s.scalars(select(JourneyWebhookCall)).all()))


def test_a_webhook_is_signed_and_its_answer_saved_on_the_profile(
    runtime: Runtime, receiver: str
) -> None:
    _, (person,) = set_up(runtime, hooked(f"{receiver}/ok"))
    tick(runtime.sessions, NOON)
    (row,) = enrollments(runtime)
    assert row.status == "completed"  # the contact did not wait for the call
    assert [c.status for c in calls(runtime)] == ["pending"]
    assert deliver_webhooks(runtime.sessions, NOON, secret=SECRET) == {"done": 1}
    ((_, headers, body),) = Receiver.seen
    assert verify(SECRET, headers["X-CE-Timestamp"], headers["X-CE-Signature"], body)
    sent = json.loads(body)
    assert (sent["payload"], sent["node_id"], sent["contact"]["id"]) == (
        {"offer": "spring"},
        "hook",
        person,
    )
    saved = in_session(runtime, lambda s: s.get(Contact, person).attributes)
    assert saved["crm"] == {"score": 7}
    (call,) = calls(runtime)
    assert (call.status, call.response_status, call.attempts) == ("done", 200, 1)


def test_a_slow_webhook_times_out_and_is_retried_then_given_up(
    runtime: Runtime, receiver: str
) -> None:
    set_up(runtime, hooked(f"{receiver}/slow"))
    tick(runtime.sessions, NOON)
    assert deliver_webhooks(runtime.sessions, NOON, secret=SECRET) == {"retry": 1}
    (call,) = calls(runtime)
    assert (call.status, call.attempts, call.next_attempt_at) == (
        "pending",
        1,
        NOON + timedelta(seconds=30),
    )
    assert "too slow" in (call.error or "")
    assert deliver_webhooks(runtime.sessions, NOON + timedelta(seconds=10), secret=SECRET) == {}
    later = NOON + timedelta(seconds=31)
    assert deliver_webhooks(runtime.sessions, later, secret=SECRET) == {"failed": 1}
    assert [c.status for c in calls(runtime)] == ["failed"]
