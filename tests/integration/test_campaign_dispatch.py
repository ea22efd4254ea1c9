"""A campaign from launch to provider: policy enforced, each message sent once, skips explained."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.models import Campaign, CampaignMember, Delivery, PolicyDecision, Suppression
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


def _people(session: Session, states: list[str | None], **fields: object) -> list[int]:
    ids = []
    for state in states:
        contact = make_contact(session, **fields)
        if state is not None:
            make_consent(session, contact.id, "email", (state, NOON - timedelta(days=30), "test"))
        ids.append(contact.id)
    session.flush()
    return ids


def _sent_ids(channel: MemoryChannel) -> Counter[int]:
    return Counter(m.delivery_id for m in channel.accepted())


def test_campaign_sends_once_to_each_consenting_unsuppressed_contact(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[int, list[int], int]:
        opted_in = _people(session, ["opted_in"] * 12)
        _people(session, ["opted_out"] * 3 + ["unknown"] * 2 + [None] * 2)
        suppressed = opted_in[0]
        email = session.get_one(type(make_contact(session)), suppressed).email
        session.add(Suppression(kind="email", value=email, reason="hard bounce"))
        seg = segment(session)
        return launch(session, campaign_body(session, seg)), opted_in, suppressed

    campaign_id, opted_in, suppressed = in_session(runtime, set_up)
    clock = Clock()
    runner, channels = make_runner(runtime, clock, send_batch=4)
    assert runner.tick() == 1

    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    sent = _sent_ids(email)
    assert set(sent.values()) == {1}  # nothing twice

    def check(session: Session) -> None:
        rows = session.execute(
            select(Delivery.id, Delivery.contact_id, Delivery.status).where(
                Delivery.campaign_id == campaign_id
            )
        ).all()
        assert {r.contact_id for r in rows} == set(opted_in) - {suppressed}
        assert {r.id for r in rows} == set(sent)
        assert {r.status for r in rows} == {"accepted"}
        reasons = Counter(
            session.scalars(
                select(PolicyDecision.reason).where(PolicyDecision.campaign_id == campaign_id)
            )
        )
        assert reasons == {"opted_out": 3, "no_consent": 5, "suppressed": 1}
        assert session.get_one(Campaign, campaign_id).status == "completed"

    in_session(runtime, check)
    for message in email.accepted():
        assert message.subject and message.html and "unsubscribe" in message.html.lower()
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_holdout_is_stored_per_contact_and_never_sent(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        _people(session, ["opted_in"] * 200)
        body = campaign_body(session, segment(session))
        body["audience"]["holdout_percent"] = 30
        return launch(session, body)

    campaign_id = in_session(runtime, set_up)
    runner, _ = make_runner(runtime, Clock())
    runner.tick()

    def check(session: Session) -> None:
        groups = dict(
            session.execute(
                select(CampaignMember.group, func.count())
                .where(CampaignMember.campaign_id == campaign_id)
                .group_by(CampaignMember.group)
            ).all()
        )
        assert groups["control"] + groups["treatment"] == 200
        assert 35 <= groups["control"] <= 85  # 30% of 200, give or take chance
        controls = set(
            session.scalars(
                select(CampaignMember.contact_id).where(
                    CampaignMember.campaign_id == campaign_id, CampaignMember.group == "control"
                )
            )
        )
        sent_to = set(
            session.scalars(select(Delivery.contact_id).where(Delivery.status == "accepted"))
        )
        assert not controls & sent_to
        assert len(sent_to) == groups["treatment"]

    in_session(runtime, check)


def test_quiet_hours_defer_to_the_contacts_morning(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        _people(session, ["opted_in"], time_zone="Asia/Tokyo")  # 21:00 in Tokyo at NOON UTC
        return launch(session, campaign_body(session, segment(session)))

    in_session(runtime, set_up)
    clock = Clock()
    runner, channels = make_runner(runtime, clock)
    runner.tick()
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    assert email.accepted() == []

    def deferred(session: Session) -> Delivery:
        return session.scalars(select(Delivery)).one()

    row = in_session(runtime, deferred)
    assert row.deferred_reason == "quiet_hours"
    assert row.not_before == NOON + timedelta(hours=11)  # 08:00 the next morning in Tokyo
    clock.now = row.not_before
    runner.tick()
    assert len(email.accepted()) == 1


def test_frequency_cap_holds_across_campaigns_on_the_same_audience(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        _people(session, ["opted_in"] * 10)
        seg = segment(session)
        ids = []
        for name in ("welcome", "cross_sell", "win_back"):  # different messages: no duplicates
            message = {"channel": "email", "template_id": template_id(session, name)}
            body = campaign_body(session, seg, name=name, variants=[{"messages": [message]}])
            ids.append(launch(session, body))
        return ids

    in_session(runtime, set_up)
    runner, channels = make_runner(runtime, Clock(), cap_total=2)
    assert runner.tick() == 3
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    per_contact = Counter(m.to for m in email.accepted())
    assert len(per_contact) == 10 and set(per_contact.values()) == {2}

    def reasons(session: Session) -> Counter[str]:
        return Counter(session.scalars(select(PolicyDecision.reason)))

    assert in_session(runtime, reasons) == {"frequency_cap": 10}


def test_transient_faults_are_retried_until_each_message_is_sent_once(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        _people(session, ["opted_in"] * 60)
        return launch(session, campaign_body(session, segment(session)))

    in_session(runtime, set_up)
    flaky = MemoryChannel("email", fault_rate=0.3, seed=7)
    clock = Clock()
    runner, _ = make_runner(runtime, clock, {"email": flaky}, send_batch=7, max_attempts=20)
    runner.tick()
    sent = _sent_ids(flaky)
    assert len(sent) == 60 and set(sent.values()) == {1}
    assert clock.slept  # it waited for backoff rather than hammering the provider

    def statuses(session: Session) -> Counter[str]:
        return Counter(session.scalars(select(Delivery.status)))

    assert in_session(runtime, statuses) == {"accepted": 60}


def test_permanent_failure_ends_failed_with_the_reason(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        _people(session, ["opted_in"] * 3)
        return launch(session, campaign_body(session, segment(session)))

    in_session(runtime, set_up)
    first = in_session(runtime, lambda s: s.scalar(select(func.min(Campaign.id))))
    assert first is not None
    broken = MemoryChannel("email", scripted={1: "failed"})
    runner, _ = make_runner(runtime, Clock(), {"email": broken})
    runner.tick()

    def rows(session: Session) -> list[tuple[int, str, str | None]]:
        return [
            tuple(r)
            for r in session.execute(
                select(Delivery.id, Delivery.status, Delivery.error).order_by(Delivery.id)
            )
        ]

    found = in_session(runtime, rows)
    assert found[0][1:] == ("failed", "scripted failure")
    assert [r[1] for r in found[1:]] == ["accepted", "accepted"]


def test_paused_campaign_sends_nothing_until_resumed(runtime: Runtime) -> None:
    from campaign_engine.campaigns.lifecycle import pause_campaign, resume_campaign

    def set_up(session: Session) -> int:
        _people(session, ["opted_in"] * 5)
        campaign_id = launch(session, campaign_body(session, segment(session)))
        pause_campaign(session, campaign_id)
        return campaign_id

    campaign_id = in_session(runtime, set_up)
    runner, channels = make_runner(runtime, Clock())
    assert runner.tick() == 0
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    assert email.messages == []
    in_session(runtime, lambda s: resume_campaign(s, campaign_id))
    runner.tick()
    assert len(email.accepted()) == 5


def test_same_message_from_overlapping_campaigns_is_a_duplicate(runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        _people(session, ["opted_in"] * 4)
        seg = segment(session)
        for i in range(2):
            launch(session, campaign_body(session, seg, name=f"Twin {i}"))

    in_session(runtime, set_up)
    runner, channels = make_runner(runtime, Clock())
    runner.tick()
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    assert sorted(Counter(m.to for m in email.accepted()).values()) == [1, 1, 1, 1]

    def reasons(session: Session) -> Counter[str]:
        return Counter(session.scalars(select(PolicyDecision.reason)))

    assert in_session(runtime, reasons) == {"duplicate": 4}
