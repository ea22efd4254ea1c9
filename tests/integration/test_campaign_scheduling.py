"""Campaign schedules: each run happens once across schedulers; cron, local time, state changes."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.lifecycle import (
    cancel_campaign,
    claim_run,
    materialise_due_runs,
    pause_campaign,
    resume_campaign,
    schedule_campaign,
    send_now,
)
from campaign_engine.campaigns.service import save_campaign
from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict, InvalidInput
from campaign_engine.models import Campaign, CampaignRun, Contact, Delivery
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import Job, run_claimed
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    make_runner,
    segment,
    template_id,
)
from tests.factories import make_consent, make_contact

HOUR = timedelta(hours=1)
SEGMENTS = itertools.count(1)


def people(session: Session, count: int, **fields: Any) -> list[int]:
    ids = []
    for _ in range(count):
        contact = make_contact(session, **fields)
        make_consent(session, contact.id, "email", ("opted_in", NOON - timedelta(days=30), "t"))
        ids.append(contact.id)
    return ids


def scheduled(session: Session, schedule: dict[str, Any], now: datetime = NOON, **body: Any) -> int:
    """Save a campaign over everyone with `schedule` and schedule it; return its id."""
    seg = segment(session, name=f"segment {next(SEGMENTS)}")
    campaign = save_campaign(session, campaign_body(session, seg, schedule=schedule, **body))
    schedule_campaign(session, campaign.id, now)
    return campaign.id


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` on `count` threads released at the same moment; return their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


# Several schedulers at once (PostgreSQL: real concurrent transactions).


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_schedulers_create_and_claim_each_due_run_exactly_once(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        people(session, 2)
        at = {"kind": "once", "send_at": (NOON + HOUR).isoformat()}
        return [scheduled(session, at, name=f"Campaign {i}") for i in range(12)]

    campaign_ids = in_session(runtime, set_up)
    due = NOON + 2 * HOUR

    def scheduler(_: int) -> list[int]:
        claimed = []
        for _round in range(3):  # each scheduler looks several times, as its timer would
            with transaction(runtime.sessions) as session:
                materialise_due_runs(session, due)
            while True:
                with transaction(runtime.sessions) as session:
                    run = claim_run(session, due, lease=HOUR)
                    if run is None:
                        break
                    claimed.append(run.id)
        return claimed

    claims = in_threads(2, scheduler)

    def runs(session: Session) -> Counter[int]:
        return Counter(session.scalars(select(CampaignRun.campaign_id)))

    assert in_session(runtime, runs) == dict.fromkeys(campaign_ids, 1)
    every = [run_id for claimed in claims for run_id in claimed]
    assert len(every) == len(set(every)) == len(campaign_ids)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_runners_ticking_together_send_each_message_once(runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        people(session, 90)
        seg = segment(session)
        for i in range(3):
            body = campaign_body(session, seg, name=f"Campaign {i}")
            body["variants"][0]["messages"][0]["template_id"] = _template(session, i)
            send_now(session, save_campaign(session, body).id, NOON)

    in_session(runtime, set_up)
    email = MemoryChannel("email")
    runners = [
        make_runner(runtime, Clock(), {"email": email}, send_batch=7, cap_total=5)[0]
        for _ in range(2)
    ]
    in_threads(2, lambda i: runners[i].tick())
    sent = Counter(m.delivery_id for m in email.accepted())
    assert set(sent.values()) == {1}

    def statuses(session: Session) -> Counter[str]:
        return Counter(session.scalars(select(Delivery.status)))

    assert in_session(runtime, statuses) == {"accepted": 270}
    assert len(sent) == 270


def _template(session: Session, i: int) -> int:
    return template_id(session, ("welcome", "cross_sell", "win_back")[i])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_job_offered_to_two_schedulers_at_once_runs_once(runtime: Runtime) -> None:
    ran: list[int] = []
    job = Job("campaign-dispatch-probe", 3600, lambda rt: ran.append(1))
    in_threads(4, lambda _: run_claimed(job, runtime))
    assert ran == [1]


# Recurring campaigns.


def test_cron_campaign_creates_one_run_per_occurrence(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        people(session, 3)
        return scheduled(
            session, {"kind": "cron", "cron": "0 9 * * *", "timezone": "Europe/London"}
        )

    campaign_id = in_session(runtime, set_up)
    moment = NOON
    end = NOON + timedelta(days=3, hours=1)
    while moment <= end:  # a scheduler waking every 20 minutes, twice per wake-up
        for _ in range(2):
            with transaction(runtime.sessions) as session:
                materialise_due_runs(session, moment)
        moment += timedelta(minutes=20)

    def due_times(session: Session) -> list[datetime]:
        return list(
            session.scalars(
                select(CampaignRun.due_at)
                .where(CampaignRun.campaign_id == campaign_id)
                .order_by(CampaignRun.due_at)
            )
        )

    found = [at.replace(tzinfo=UTC) for at in in_session(runtime, due_times)]
    nine_in_london = [datetime(2026, 6, d, 8, 0, tzinfo=UTC) for d in (11, 12, 13)]  # BST
    assert found == nine_in_london
    campaign = in_session(runtime, lambda s: s.get_one(Campaign, campaign_id))
    assert campaign.status == "running"
    assert campaign.next_run_at.replace(tzinfo=UTC) == datetime(2026, 6, 14, 8, 0, tzinfo=UTC)


# Rejected schedules.


def test_a_send_time_in_the_past_cannot_be_scheduled(runtime: Runtime) -> None:
    def attempt(session: Session) -> None:
        people(session, 1)
        past = {"kind": "once", "send_at": (NOON - HOUR).isoformat()}
        scheduled(session, past)

    with pytest.raises(InvalidInput) as caught:
        in_session(runtime, attempt)
    assert [p.location for p in caught.value.problems] == ["schedule.send_at"]
    assert "in the past" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("61 * * * *", "not a valid cron expression"),
        ("every monday", "not a valid cron expression"),
        ("0 9 * * * *", "5 fields"),
        (None, "not a valid cron expression"),
    ],
)
def test_a_bad_cron_expression_is_rejected_naming_the_schedule(
    runtime: Runtime, cron: str | None, says: str
) -> None:
    def attempt(session: Session) -> None:
        seg = segment(session)
        save_campaign(session, campaign_body(session, seg, schedule={"kind": "cron", "cron": cron}))

    with pytest.raises(InvalidInput) as caught:
        in_session(runtime, attempt)
    (problem,) = caught.value.problems
    assert problem.location == "schedule"
    assert says in problem.message


# Pause, resume, cancel.


@pytest.mark.parametrize(
    ("steps", "final"),
    [
        (["pause"], "paused"),
        (["pause", "resume"], "running"),
        (["pause", "cancel"], "cancelled"),
        (["cancel"], "cancelled"),
    ],
)
def test_running_campaign_moves_through_pause_resume_and_cancel(
    runtime: Runtime, steps: list[str], final: str
) -> None:
    def act(session: Session) -> str:
        people(session, 2)
        campaign = save_campaign(session, campaign_body(session, segment(session)))
        send_now(session, campaign.id, NOON)
        for step in steps:
            _apply(session, step, campaign.id)
        return session.get_one(Campaign, campaign.id).status

    assert in_session(runtime, act) == final


@pytest.mark.parametrize(
    ("before", "step"),
    [
        ([], "resume"),  # running, not paused
        (["cancel"], "pause"),
        (["cancel"], "resume"),
        (["cancel"], "cancel"),
    ],
)
def test_impossible_state_changes_are_conflicts(
    runtime: Runtime, before: list[str], step: str
) -> None:
    def act(session: Session) -> None:
        campaign = save_campaign(session, campaign_body(session, segment(session)))
        send_now(session, campaign.id, NOON)
        for done in before:
            _apply(session, done, campaign.id)
        _apply(session, step, campaign.id)

    with pytest.raises(Conflict):
        in_session(runtime, act)


def test_a_draft_cannot_be_paused(runtime: Runtime) -> None:
    def act(session: Session) -> None:
        campaign = save_campaign(session, campaign_body(session, segment(session)))
        pause_campaign(session, campaign.id)

    with pytest.raises(Conflict, match="draft"):
        in_session(runtime, act)


def _apply(session: Session, step: str, campaign_id: int) -> None:
    match step:
        case "pause":
            pause_campaign(session, campaign_id)
        case "resume":
            resume_campaign(session, campaign_id)
        case "cancel":
            cancel_campaign(session, campaign_id, NOON)
        case _:
            raise AssertionError(step)


def test_cancel_turns_queued_deliveries_into_cancelled_and_nothing_more_is_sent(
    runtime: Runtime,
) -> None:
    def set_up(session: Session) -> int:
        people(session, 5, time_zone="Asia/Tokyo")  # 21:00 there: deferred to the morning
        campaign = save_campaign(session, campaign_body(session, segment(session)))
        send_now(session, campaign.id, NOON)
        return campaign.id

    campaign_id = in_session(runtime, set_up)
    clock = Clock()
    runner, channels = make_runner(runtime, clock)
    runner.tick()

    def statuses(session: Session) -> Counter[str]:
        return Counter(session.scalars(select(Delivery.status)))

    assert in_session(runtime, statuses) == {"queued": 5}
    in_session(runtime, lambda s: cancel_campaign(s, campaign_id, clock.now))
    clock.now += timedelta(days=1)
    runner.tick()

    def rows(session: Session) -> set[tuple[str, str | None]]:
        return set(session.execute(select(Delivery.status, Delivery.error)))

    assert in_session(runtime, rows) == {("cancelled", "campaign cancelled")}
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    assert email.messages == []


# Local-time schedules.


def test_local_time_schedule_plans_each_contact_at_the_hour_in_their_zone(
    runtime: Runtime,
) -> None:
    start = datetime(2026, 6, 10, 0, 0, tzinfo=UTC)
    zones = {"Asia/Tokyo": 1, "Europe/London": 9, "America/New_York": 14}  # 10:00 local, in UTC

    def set_up(session: Session) -> dict[int, str]:
        by_contact = {people(session, 1, time_zone=zone)[0]: zone for zone in zones}
        schedule = {"kind": "local_time", "send_at": start.isoformat(), "local_hour": 10}
        scheduled(session, schedule, now=start - HOUR)
        return by_contact

    by_contact = in_session(runtime, set_up)
    clock = Clock(now=start)
    runner, channels = make_runner(runtime, clock)
    assert runner.tick() == 1

    def planned(session: Session) -> dict[int, datetime]:
        found = session.execute(select(Delivery.contact_id, Delivery.not_before))
        return {contact: at.replace(tzinfo=UTC) for contact, at in found}

    expected = {
        contact: start + timedelta(hours=zones[zone]) for contact, zone in by_contact.items()
    }
    assert in_session(runtime, planned) == expected
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    assert email.messages == []  # nobody's 10:00 has come yet
    clock.now = start + timedelta(hours=9, minutes=30)
    runner.tick()
    assert {m.to for m in email.accepted()} == {
        _email(runtime, c) for c, z in by_contact.items() if zones[z] <= 9
    }


def _email(runtime: Runtime, contact_id: int) -> str:
    address: str = in_session(runtime, lambda s: s.get_one(Contact, contact_id).email)
    return address
