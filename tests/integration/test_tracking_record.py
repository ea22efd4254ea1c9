"""Recording events: once per provider event id, first times kept, consequences applied."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.models import Consent, Delivery, Suppression, TrackingEvent
from campaign_engine.runtime import Runtime
from campaign_engine.tracking.record import RawEvent, record_events
from tests.campaign_support import NOON, in_session
from tests.tracking_support import sent_campaign

LATER = NOON + timedelta(hours=2)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


def test_replayed_provider_events_are_counted_once(runtime: Runtime) -> None:
    sent = sent_campaign(runtime, 2)
    first = sent.delivery_ids[0]
    batch = [
        RawEvent(first, "delivered", LATER, "sendgrid", dedupe_key="sg-1"),
        RawEvent(first, "delivered", LATER, "sendgrid", dedupe_key="sg-1"),
        RawEvent(10**12, "delivered", LATER, "sendgrid", dedupe_key="sg-2"),
    ]
    results = [in_session(runtime, lambda s: record_events(s, batch)) for _ in range(2)]
    assert (results[0].recorded, results[0].duplicates, results[0].unknown) == (1, 1, 1)
    assert (results[1].recorded, results[1].duplicates) == (0, 2)

    def check(session: Session) -> None:
        assert session.scalar(select(func.count()).select_from(TrackingEvent)) == 1
        assert session.get_one(Delivery, first).delivered_at == LATER

    in_session(runtime, check)


def test_first_human_open_is_kept_and_machine_opens_are_flagged(runtime: Runtime) -> None:
    sent = sent_campaign(runtime, 1)
    did = sent.delivery_ids[0]
    events = [
        RawEvent(did, "open", LATER + timedelta(hours=1), "pixel", user_agent=BROWSER),
        RawEvent(did, "open", LATER, "pixel", user_agent="Mozilla/5.0"),  # Apple's proxy
        RawEvent(did, "click", LATER + timedelta(minutes=30), "redirect", user_agent=BROWSER),
    ]
    in_session(runtime, lambda s: record_events(s, events))

    def check(session: Session) -> None:
        delivery = session.get_one(Delivery, did)
        assert delivery.opened_at == LATER + timedelta(minutes=30)  # the click implies an open
        assert delivery.clicked_at == LATER + timedelta(minutes=30)
        flags = session.execute(
            select(TrackingEvent.machine_reason).where(TrackingEvent.kind == "open")
        ).all()
        assert sorted(str(f[0]) for f in flags) == ["None", "privacy_proxy"]

    in_session(runtime, check)


def test_hard_bounce_and_spam_report_suppress_and_unsubscribe_opts_out(runtime: Runtime) -> None:
    sent = sent_campaign(runtime, 3)
    bounced, complained, left = sent.delivery_ids
    events = [
        RawEvent(bounced, "bounce", LATER, "sendgrid", "b", hard_bounce=True),
        RawEvent(complained, "spam_report", LATER, "sendgrid", "s"),
        RawEvent(left, "unsubscribe", LATER, "link"),
    ]
    in_session(runtime, lambda s: record_events(s, events))

    def check(session: Session) -> None:
        reasons = dict(session.execute(select(Suppression.value, Suppression.reason)).all())
        addresses = {
            d.id: d.address for d in session.scalars(select(Delivery)) if d.id in sent.delivery_ids
        }
        assert reasons == {
            addresses[bounced].lower(): "hard_bounce",
            addresses[complained].lower(): "spam_report",
        }
        states = dict(
            session.execute(
                select(Consent.contact_id, Consent.state).where(Consent.channel == "email")
            ).all()
        )
        assert [states[c] for c in sent.contact_ids] == ["opted_in", "opted_out", "opted_out"]

    in_session(runtime, check)
