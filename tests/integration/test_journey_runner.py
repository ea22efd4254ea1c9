"""The journey runner: scenarios in time travel, exactly-once sends, policy, holdout, dispatch."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.ingest.batch import ingest_batch
from campaign_engine.ingest.records import Kind
from campaign_engine.journeys import runner
from campaign_engine.journeys.enrollment import enroll
from campaign_engine.journeys.entries import enter_by_events
from campaign_engine.journeys.runner import tick
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Delivery,
    Journey,
    JourneyEnrollment,
    JourneyStep,
    JourneyVersion,
    PolicyDecision,
)
from campaign_engine.runtime import Runtime
from tests.campaign_support import NOON, Clock, in_session, make_runner, template_id
from tests.factories import make_consent, make_contact, make_order, make_product

_names = itertools.count(1)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


# --- building journeys and contacts -------------------------------------------------------


def node(node_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    """Return one step of a definition."""
    return {"id": node_id, "type": kind, **fields}


def send(node_id: str, template: int, after: str | None) -> dict[str, Any]:
    """Return an email send step."""
    return node(node_id, "send", channel="email", template_id=template, next=after)


def definition(*nodes: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """Return a journey definition of `nodes` with `settings`."""
    return {"version": 1, "name": "test", "settings": settings, "nodes": list(nodes)}


def publish(session: Session, body: dict[str, Any], status: str = "published") -> JourneyVersion:
    """Store a journey with its companion campaign, journey run and one version (no service)."""
    n = next(_names)
    campaign = Campaign(
        code=f"JOURNEY-T{n}", name=f"Journey {n}", channel="email", status="running"
    )
    session.add(campaign)
    session.flush()
    run = CampaignRun(campaign_id=campaign.id, due_at=NOON, status="sending", kind="journey")
    journey = Journey(name=f"journey {n}", status=status, draft=body, campaign_id=campaign.id)
    session.add_all([run, journey])
    session.flush()
    version = JourneyVersion(
        journey_id=journey.id, version=1, definition=body, published_at=NOON, run_id=run.id
    )
    session.add(version)
    session.flush()
    journey.current_version_id = version.id
    session.flush()
    return version


def contact(session: Session, consent: str = "opted_in", **fields: Any) -> int:
    """Add a contact with email consent `consent`; return its id."""
    person = make_contact(session, **fields)
    make_consent(session, person.id, "email", (consent, NOON - 30 * DAY, "test"))
    session.flush()
    return person.id


def enrollments(runtime: Runtime) -> list[JourneyEnrollment]:
    """Return every enrollment, by id."""
    return list(
        in_session(
            runtime,
            lambda s: s.scalars(select(JourneyEnrollment).order_by(JourneyEnrollment.id)).all(),
        )
    )


def deliveries(runtime: Runtime) -> list[Delivery]:
    """Return every delivery, by id."""
    return list(
        in_session(runtime, lambda s: s.scalars(select(Delivery).order_by(Delivery.id)).all())
    )


def trail(runtime: Runtime, enrollment_id: int) -> list[tuple[str, str | None]]:
    """Return the steps an enrollment went through and how it left each."""
    rows = in_session(
        runtime,
        lambda s: s.execute(
            select(JourneyStep.node_id, JourneyStep.outcome)
            .where(JourneyStep.enrollment_id == enrollment_id)
            .order_by(JourneyStep.entered_at, JourneyStep.id)
        ).all(),
    )
    return [(node_id, outcome) for node_id, outcome in rows]


def post_events(runtime: Runtime, *events: tuple[str, str, datetime]) -> None:
    """Ingest (external id, type, occurred at) events through the ingest path."""
    records = [
        {"contact_id": who, "type": kind, "occurred_at": at.isoformat()} for who, kind, at in events
    ]
    in_session(runtime, lambda s: ingest_batch(s, Kind.events, {"records": records}, 1000))


def external_id(runtime: Runtime, contact_id: int) -> str:
    """Return a contact's external id."""
    from campaign_engine.models import Contact

    return str(in_session(runtime, lambda s: s.get(Contact, contact_id).external_id))


def set_up(
    runtime: Runtime, body: Any, people: Sequence[dict[str, Any]] = ({},), entry: str = "in"
) -> tuple[int, list[int]]:
    """Publish `body(template_id)` and enroll `people` at NOON; return (version id, contacts)."""

    def work(session: Session) -> tuple[int, list[int]]:
        template = template_id(session, "welcome")
        version = publish(session, body(template))
        ids = [contact(session, **fields) for fields in people]
        enroll(session, version, ids, entry, NOON)
        return version.id, ids

    return in_session(runtime, work)  # type: ignore[no-any-return]


# --- scenarios ----------------------------------------------------------------------------


def test_a_delay_then_a_send_sends_once_the_delay_has_passed(runtime: Runtime) -> None:
    set_up(
        runtime,
        lambda t: definition(
            node("in", "entry_api", next="wait"),
            node("wait", "delay", duration={"days": 1}, next="mail"),
            send("mail", t, "done"),
            node("done", "exit"),
        ),
    )
    assert tick(runtime.sessions, NOON) == 1
    (waiting,) = enrollments(runtime)
    assert (waiting.status, waiting.node_id, waiting.due_at) == ("waiting", "wait", NOON + DAY)
    assert tick(runtime.sessions, NOON + HOUR) == 0
    assert deliveries(runtime) == []
    assert tick(runtime.sessions, NOON + DAY) == 2
    (done,) = enrollments(runtime)
    assert (done.status, done.due_at, done.finished_at) == ("completed", None, NOON + DAY)
    (mail,) = deliveries(runtime)
    assert (mail.key, mail.variant, mail.status) == (f"journey:{done.id}:mail", "mail", "queued")
    assert trail(runtime, done.id) == [
        ("in", "next"),
        ("wait", "next"),
        ("mail", "next"),
        ("done", "exit_node"),
    ]


WAIT_FOR_EVENT = lambda t: definition(  # noqa: E731
    node("in", "entry_api", next="mail"),
    send("mail", t, "viewed"),
    node(
        "viewed",
        "wait_for_event",
        event_type="viewed_product",
        timeout={"days": 2},
        matched="thanks",
        timed_out="nudge",
    ),
    node("thanks", "exit"),
    node("nudge", "exit"),
)


def test_a_wait_for_event_is_matched_by_an_ingested_event_or_times_out(runtime: Runtime) -> None:
    _, (eager, idle) = set_up(runtime, WAIT_FOR_EVENT, [{}, {}])
    in_session(runtime, lambda s: enter_by_events(s, NOON))  # the cursor starts here
    tick(runtime.sessions, NOON)
    soon = NOON + timedelta(minutes=30)
    post_events(runtime, (external_id(runtime, eager), "viewed_product", soon))
    in_session(runtime, lambda s: enter_by_events(s, soon))  # wakes the waiting one
    woken = {e.contact_id: e.due_at for e in enrollments(runtime)}
    assert woken[eager] == soon and woken[idle] == NOON + HOUR  # the other rechecks hourly
    tick(runtime.sessions, soon)
    by_contact = {e.contact_id: e for e in enrollments(runtime)}
    assert (by_contact[eager].status, by_contact[eager].node_id) == ("completed", "thanks")
    assert by_contact[idle].status == "waiting"
    tick(runtime.sessions, NOON + 2 * DAY)
    idle_row = {e.contact_id: e for e in enrollments(runtime)}[idle]
    assert (idle_row.status, idle_row.node_id) == ("completed", "nudge")
    assert trail(runtime, idle_row.id)[-2:] == [("viewed", "timed_out"), ("nudge", "exit_node")]
    assert len(deliveries(runtime)) == 2


def test_a_condition_split_sends_each_contact_down_its_branch(runtime: Runtime) -> None:
    set_up(
        runtime,
        lambda t: definition(
            node("in", "entry_api", next="tier"),
            node(
                "tier",
                "condition_split",
                branches=[
                    {
                        "name": "gold",
                        "next": "vip",
                        "conditions": [
                            {
                                "type": "attribute",
                                "attribute": "attributes.tier",
                                "op": "eq",
                                "value": "gold",
                            }
                        ],
                    }
                ],
                **{"else": "plain"},
            ),
            send("vip", t, None),
            node("plain", "exit"),
        ),
        [{"attributes": {"tier": "gold"}}, {"attributes": {"tier": "tin"}}],
    )
    tick(runtime.sessions, NOON)
    gold, tin = enrollments(runtime)
    assert trail(runtime, gold.id)[1:] == [("tier", "gold"), ("vip", "next")]
    assert trail(runtime, tin.id)[1:] == [("tier", "else"), ("plain", "exit_node")]
    assert [d.contact_id for d in deliveries(runtime)] == [gold.contact_id]


GOAL = lambda t: definition(  # noqa: E731
    node("in", "entry_api", next="wait"),
    node("wait", "delay", duration={"days": 3}, next="mail"),
    send("mail", t, None),
    node("bought", "goal", event_type="order_placed"),
    exit_criteria={"event_types": ["unsubscribed"]},
)


def test_an_order_converts_the_contact_at_the_goal(runtime: Runtime) -> None:
    _, (buyer,) = set_up(runtime, GOAL)
    tick(runtime.sessions, NOON)

    def order(session: Session) -> None:
        make_order(session, buyer, NOON + DAY, [(make_product(session, "S1", "Mug", 9.0), 1)])

    in_session(runtime, order)
    tick(runtime.sessions, NOON + 3 * DAY)
    (row,) = enrollments(runtime)
    assert (row.status, row.node_id) == ("converted", "bought")
    assert trail(runtime, row.id)[-2:] == [("wait", "goal"), ("bought", "converted")]
    assert deliveries(runtime) == []


def test_exit_criteria_take_the_contact_out_before_the_send(runtime: Runtime) -> None:
    _, (leaver,) = set_up(runtime, GOAL)
    tick(runtime.sessions, NOON)
    post_events(runtime, (external_id(runtime, leaver), "unsubscribed", NOON + HOUR))
    tick(runtime.sessions, NOON + 3 * DAY)
    (row,) = enrollments(runtime)
    assert (row.status, row.finished_at) == ("exited", NOON + 3 * DAY)
    assert trail(runtime, row.id)[-1] == ("wait", "exit_criteria")
    assert deliveries(runtime) == []


# --- exactly once -------------------------------------------------------------------------

STRAIGHT = lambda t: definition(  # noqa: E731
    node("in", "entry_api", next="mail"),
    send("mail", t, "wait"),
    node("wait", "delay", duration={"days": 1}, next="done"),
    node("done", "exit"),
)


def test_two_runners_at_once_send_each_enrollment_exactly_once(runtime: Runtime) -> None:
    set_up(runtime, STRAIGHT, [{} for _ in range(120)])
    barrier = threading.Barrier(2)
    moved: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            moved.append(tick(runtime.sessions, NOON, batch=7))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(moved) == 120 * 2  # in → mail → wait, once per enrollment across both runners
    keys = [d.key for d in deliveries(runtime)]
    assert len(keys) == len(set(keys)) == 120
    assert {e.status for e in enrollments(runtime)} == {"waiting"}


class Crash(BaseException):
    """A runner dying between carrying out effects and committing."""


def test_a_crash_mid_tick_leaves_nothing_half_written_and_the_rerun_sends_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up(runtime, STRAIGHT, [{}, {}, {}])

    def die(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(runner, "store", die)
    with pytest.raises(Crash):
        tick(runtime.sessions, NOON)
    assert deliveries(runtime) == []
    assert {(e.status, e.node_id, e.due_at) for e in enrollments(runtime)} == {
        ("active", "in", NOON)
    }
    steps = in_session(runtime, lambda s: s.scalar(select(func.count()).select_from(JourneyStep)))
    assert steps == 3  # the entry steps only
    monkeypatch.undo()
    assert tick(runtime.sessions, NOON) == 6
    assert tick(runtime.sessions, NOON) == 0
    assert len(deliveries(runtime)) == 3


def test_a_broken_enrollment_does_not_hold_up_the_batch(runtime: Runtime) -> None:
    set_up(runtime, STRAIGHT, [{}, {}])
    first = enrollments(runtime)[0]

    def corrupt(session: Session) -> None:
        session.get(JourneyEnrollment, first.id).state = {"node_id": "in"}  # no times

    in_session(runtime, corrupt)
    tick(runtime.sessions, NOON)
    broken, fine = enrollments(runtime)
    assert fine.status == "waiting"
    assert (broken.status, broken.due_at) == ("active", NOON + timedelta(minutes=5))
    assert "KeyError" in broken.state["error"] and broken.state["errors"] == 1
    assert [d.contact_id for d in deliveries(runtime)] == [fine.contact_id]


# --- policy, holdout, dispatch ------------------------------------------------------------


def test_the_contact_policy_applies_to_journey_sends(runtime: Runtime) -> None:
    set_up(runtime, STRAIGHT, [{"consent": "opted_out"}])
    tick(runtime.sessions, NOON)
    assert deliveries(runtime) == []
    reasons = in_session(runtime, lambda s: list(s.scalars(select(PolicyDecision.reason))))
    assert reasons == ["opted_out"]
    (row,) = enrollments(runtime)
    assert row.status == "waiting"  # the contact walks on; the send is skipped


def test_holdout_enrollments_walk_the_path_but_get_no_sends(runtime: Runtime) -> None:
    body = lambda t: definition(  # noqa: E731
        node("in", "entry_api", next="mail"), send("mail", t, None), holdout_percent=50
    )
    set_up(runtime, body, [{} for _ in range(40)])
    tick(runtime.sessions, NOON)
    rows = enrollments(runtime)
    held = {e.contact_id for e in rows if e.holdout}
    assert 0 < len(held) < 40
    assert {e.status for e in rows} == {"completed"}
    sent = {d.contact_id for d in deliveries(runtime)}
    assert sent == {e.contact_id for e in rows} - held
    decided = in_session(
        runtime,
        lambda s: set(
            s.scalars(
                select(PolicyDecision.contact_id).where(PolicyDecision.reason == "journey_holdout")
            )
        ),
    )
    assert decided == held


def test_the_campaign_dispatcher_sends_journey_deliveries(runtime: Runtime) -> None:
    set_up(runtime, STRAIGHT, [{}, {}])
    tick(runtime.sessions, NOON)
    clock = Clock(NOON)
    dispatcher, channels = make_runner(runtime, clock)
    assert dispatcher.tick() == 1
    sent = channels["email"].accepted()  # type: ignore[attr-defined]
    assert len(sent) == 2
    assert {d.status for d in deliveries(runtime)} == {"accepted"}
    run = in_session(runtime, lambda s: s.scalar(select(CampaignRun)))
    assert run.status == "sending"  # a journey's run lasts as long as the journey
