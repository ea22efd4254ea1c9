"""Waiting steps over simulated time: delays, times of day across zones and DST, dates, events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from journeys import Engagement, EnrollmentState, Event, Facts, Step, advance, parse, start
from journeys.definition import JourneyDefinition

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC


def journey(node: dict[str, Any], *rest: dict[str, Any]) -> JourneyDefinition:
    """Return a valid journey: an API entry leading to `node`, then `rest`, and exits a and b."""
    nodes = [{"id": "in", "type": "entry_api", "next": node["id"]}, node, *rest]
    used = json.dumps(nodes)
    exits = [{"id": e, "type": "exit"} for e in ("a", "b") if f'"{e}"' in used]
    return parse({"version": 1, "name": "test", "nodes": [*nodes, *exits]})


def enter(definition: JourneyDefinition, facts: Facts, at: datetime = T0) -> Step:
    return advance(definition, start(definition, "in", at), facts, at)


def wait(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": "w", "type": kind, **fields}


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- delay -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "wake"),
    [
        ({"days": 2}, T0 + timedelta(days=2)),
        ({"hours": 5, "minutes": 30}, T0 + timedelta(hours=5, minutes=30)),
        ({"days": 1, "hours": 1}, T0 + timedelta(hours=25)),
    ],
)
def test_delay_waits_its_duration_then_moves_on(duration: dict[str, int], wake: datetime) -> None:
    definition = journey(wait("delay", duration=duration, next="a"))
    step = enter(definition, Facts())
    assert (step.status, step.wake_at, step.state.node_id) == ("waiting", wake, "w")

    early = advance(definition, step.state, Facts(), wake - timedelta(seconds=1))
    assert (early.status, early.wake_at) == ("waiting", wake)

    late = advance(definition, step.state, Facts(), wake + timedelta(hours=3))
    assert late.status == "completed"
    assert late.transitions[0].at == wake  # when the delay ended, not when the runner noticed


def test_delays_in_a_row_add_up_even_when_the_runner_is_late() -> None:
    definition = journey(
        wait("delay", duration={"days": 1}, next="w2"),
        {"id": "w2", "type": "delay", "duration": {"days": 1}, "next": "a"},
    )
    step = enter(definition, Facts())
    late = advance(definition, step.state, Facts(), T0 + timedelta(days=1, hours=6))
    assert (late.state.node_id, late.wake_at) == ("w2", T0 + timedelta(days=2))


# --- wait until a time of day ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "entered", "at", "weekdays", "wake"),
    [
        ("Europe/Paris", "2025-01-06 08:00", "10:00", [], "2025-01-06 09:00"),
        ("Europe/Paris", "2025-01-06 10:00", "10:00", [], "2025-01-07 09:00"),
        ("America/New_York", "2025-01-06 08:00", "10:00", [], "2025-01-06 15:00"),
        ("Asia/Tokyo", "2025-01-06 08:00", "10:00", [], "2025-01-07 01:00"),
        ("Asia/Kolkata", "2025-01-06 08:00", "18:30", [], "2025-01-06 13:00"),
        (None, "2025-01-06 08:00", "10:00", [], "2025-01-06 10:00"),
        ("Mars/Olympus_Mons", "2025-01-06 08:00", "10:00", [], "2025-01-06 10:00"),
        # Friday noon, Mondays only.
        ("UTC", "2025-01-10 12:00", "09:00", ["mon"], "2025-01-13 09:00"),
        ("UTC", "2025-01-10 12:00", "09:00", ["sat", "mon"], "2025-01-11 09:00"),
        # Exactly at the time: go now.
        ("UTC", "2025-01-06 10:00", "10:00", [], "2025-01-06 10:00"),
        # Europe/Paris springs forward on 2025-03-30 (02:00 -> 03:00): 09:00 is 07:00 UTC.
        ("Europe/Paris", "2025-03-29 12:00", "09:00", [], "2025-03-30 07:00"),
        # 02:30 does not exist that night: it becomes 03:30 local.
        ("Europe/Paris", "2025-03-29 12:00", "02:30", [], "2025-03-30 01:30"),
        # Europe/Paris falls back on 2025-10-26: 02:30 happens twice; the first counts.
        ("Europe/Paris", "2025-10-25 12:00", "02:30", [], "2025-10-26 00:30"),
        ("Europe/Paris", "2025-10-25 12:00", "09:00", [], "2025-10-26 08:00"),
        # New York springs forward on 2025-03-09: 09:00 EDT is 13:00 UTC (14:00 the day before).
        ("America/New_York", "2025-03-08 15:00", "09:00", [], "2025-03-09 13:00"),
    ],
)
def test_wait_until_time_wakes_at_the_local_time(
    time_zone: str | None, entered: str, at: str, weekdays: list[str], wake: str
) -> None:
    definition = journey(wait("wait_until_time", time=at, weekdays=weekdays, next="a"))
    facts = Facts(time_zone=time_zone)
    step = enter(definition, facts, dt(entered))
    if dt(wake) == dt(entered):
        assert step.status == "completed"
        return
    assert (step.status, step.wake_at) == ("waiting", dt(wake))
    assert advance(definition, step.state, facts, dt(wake)).status == "completed"


def test_wait_until_time_uses_the_fallback_zone_when_the_contact_has_none() -> None:
    definition = journey(
        wait("wait_until_time", time="10:00", fallback_time_zone="Asia/Tokyo", next="a")
    )
    assert enter(definition, Facts()).wake_at == dt("2025-01-07 01:00")


def test_wait_until_time_keeps_its_deadline_when_the_zone_changes() -> None:
    definition = journey(wait("wait_until_time", time="10:00", next="a"))
    step = enter(definition, Facts(time_zone="Europe/Paris"))
    later = T0 + timedelta(minutes=30)
    again = advance(definition, step.state, Facts(time_zone="Asia/Tokyo"), later)
    assert again.wake_at == step.wake_at == dt("2025-01-06 09:00")


# --- wait until a date -----------------------------------------------------------------------


def birthday(**fields: Any) -> JourneyDefinition:
    defaults = {"attribute": "birth_date", "yearly": True, "next": "a", "missing": "b"}
    return journey(wait("wait_until_date", **{**defaults, **fields}))


@pytest.mark.parametrize(
    ("fields", "attributes", "entered", "wake"),
    [
        ({}, {"birth_date": "1990-05-20"}, "2025-01-06 08:00", "2025-05-20 09:00"),
        ({"days_before": 7}, {"birth_date": "1990-05-20"}, "2025-01-06 08:00", "2025-05-13 09:00"),
        ({}, {"birth_date": date(1990, 1, 2)}, "2025-01-06 08:00", "2026-01-02 09:00"),
        ({}, {"birth_date": "1990-01-06"}, "2025-01-06 08:00", "2025-01-06 09:00"),
        ({}, {"birth_date": "1990-01-06"}, "2025-01-06 10:00", "2026-01-06 09:00"),
        # Born on 29 February: the 28th in common years, the 29th in leap years.
        ({}, {"birth_date": "2000-02-29"}, "2025-01-06 08:00", "2025-02-28 09:00"),
        ({}, {"birth_date": "2000-02-29"}, "2027-03-10 08:00", "2028-02-29 09:00"),
        ({"days_before": 1}, {"birth_date": "2000-02-29"}, "2028-01-01 08:00", "2028-02-28 09:00"),
        # Days before can reach into the previous year.
        ({"days_before": 10}, {"birth_date": "1990-01-03"}, "2025-01-06 08:00", "2025-12-24 09:00"),
        ({"time": "12:30"}, {"birth_date": datetime(1990, 5, 20, 23, 0)}, "2025-01-06 08:00",
         "2025-05-20 12:30"),
        # One-off dates: a renewal 30 days ahead, read from a custom attribute.
        ({"attribute": "attributes.renewal_date", "yearly": False, "days_before": 30},
         {"attributes": {"renewal_date": "2025-03-01"}}, "2025-01-06 08:00", "2025-01-30 09:00"),
    ],
)  # fmt: skip
def test_wait_until_date_wakes_on_the_date(
    fields: dict[str, Any], attributes: dict[str, Any], entered: str, wake: str
) -> None:
    definition = birthday(**fields)
    facts = Facts(attributes=attributes)
    step = enter(definition, facts, dt(entered))
    assert (step.status, step.wake_at) == ("waiting", dt(wake))
    done = advance(definition, step.state, facts, dt(wake))
    assert [(t.from_node, t.branch, t.to_node) for t in done.transitions] == [("w", "next", "a")]


def test_birthday_follows_the_contacts_time_zone() -> None:
    step = enter(birthday(), Facts({"birth_date": "1990-05-20"}, time_zone="Asia/Tokyo"))
    assert step.wake_at == dt("2025-05-20 00:00")  # 09:00 in Tokyo


@pytest.mark.parametrize(
    ("fields", "attributes"),
    [
        ({}, {}),
        ({}, {"birth_date": None}),
        ({}, {"birth_date": "someday"}),
        ({}, {"birth_date": 19900520}),
        ({"attribute": "attributes.renewal_date"}, {"attributes": {}}),
        # A one-off date already past has no moment left to wait for.
        ({"attribute": "attributes.renewal_date", "yearly": False},
         {"attributes": {"renewal_date": "2024-12-01"}}),
    ],
)  # fmt: skip
def test_wait_until_date_takes_the_missing_branch_without_a_usable_date(
    fields: dict[str, Any], attributes: dict[str, Any]
) -> None:
    step = enter(birthday(**fields), Facts(attributes=attributes))
    assert step.status == "completed"
    assert (step.transitions[1].branch, step.transitions[1].to_node) == ("missing", "b")


# --- wait for an event, a segment, engagement ------------------------------------------------


def purchase_wait(**fields: Any) -> JourneyDefinition:
    defaults = {"event_type": "purchase", "timeout": {"days": 3}, "matched": "a", "timed_out": "b"}
    return journey(wait("wait_for_event", **{**defaults, **fields}))


@pytest.mark.parametrize(
    ("fields", "events", "now", "outcome"),
    [
        ({}, [Event("purchase", T0 + timedelta(days=1))], T0 + timedelta(days=1), "matched"),
        ({}, [Event("purchase", T0 + timedelta(days=1))], T0 + timedelta(days=9), "matched"),
        ({}, [Event("browse", T0 + timedelta(days=1))], T0 + timedelta(days=1), "waiting"),
        ({}, [Event("purchase", T0 - timedelta(hours=1))], T0 + timedelta(days=1), "waiting"),
        ({}, [], T0 + timedelta(days=3), "timed_out"),
        ({}, [Event("purchase", T0 + timedelta(days=4))], T0 + timedelta(days=5), "timed_out"),
        ({"filters": [{"property": "total", "op": "gte", "value": 50}]},
         [Event("purchase", T0 + timedelta(hours=2), {"total": 20})], T0 + timedelta(days=3),
         "timed_out"),
        ({"filters": [{"property": "total", "op": "gte", "value": 50}]},
         [Event("purchase", T0 + timedelta(hours=2), {"total": 80})], T0 + timedelta(days=3),
         "matched"),
        ({"filters": [{"property": "items.category", "op": "in", "value": ["shoes", "bags"]}]},
         [Event("purchase", T0 + timedelta(hours=2), {"items": {"category": "bags"}})],
         T0 + timedelta(hours=3), "matched"),
    ],
)  # fmt: skip
def test_wait_for_event(
    fields: dict[str, Any], events: list[Event], now: datetime, outcome: str
) -> None:
    definition = purchase_wait(**fields)
    state = enter(definition, Facts()).state
    step = advance(definition, state, Facts(events=events), now)
    branch = step.transitions[0].branch if step.transitions else "waiting"
    assert branch == outcome
    if outcome == "matched":
        assert step.transitions[0].at == events[0].occurred_at
    if outcome == "timed_out":
        assert step.transitions[0].at == T0 + timedelta(days=3)


def test_waits_for_facts_ask_to_be_looked_at_again_every_hour_until_their_timeout() -> None:
    definition = purchase_wait()
    state = enter(definition, Facts()).state
    assert advance(definition, state, Facts(), T0).wake_at == T0 + timedelta(hours=1)
    near = T0 + timedelta(days=3, minutes=-10)
    assert advance(definition, state, Facts(), near).wake_at == T0 + timedelta(days=3)
    quiet = advance(definition, state, Facts(), T0, recheck_every=None)
    assert quiet.wake_at == T0 + timedelta(days=3)


@pytest.mark.parametrize(
    ("segments", "now", "outcome"),
    [
        (frozenset({7}), T0, "matched"),
        (frozenset({7}), T0 + timedelta(days=2), "matched"),
        (frozenset({8}), T0 + timedelta(days=2), "waiting"),
        (frozenset(), T0 + timedelta(days=3), "timed_out"),
    ],
)
def test_wait_for_segment(segments: frozenset[int], now: datetime, outcome: str) -> None:
    definition = journey(
        wait("wait_for_segment", segment_id=7, timeout={"days": 3}, matched="a", timed_out="b")
    )
    state = start(definition, "in", T0)
    step = advance(definition, state, Facts(segments=segments), now)
    branches = [t.branch for t in step.transitions[1:]] or ["waiting"]
    assert branches[0] == outcome


ENGAGEMENT_CASES = [
    ("opened", Engagement(opened_at=T0 + timedelta(hours=2)), "matched"),
    ("opened", Engagement(clicked_at=T0 + timedelta(hours=2)), "matched"),  # a click is an open
    ("clicked", Engagement(opened_at=T0 + timedelta(hours=2)), "timed_out"),
    ("clicked", Engagement(T0 + timedelta(hours=1), T0 + timedelta(hours=2)), "matched"),
    ("clicked", Engagement(clicked_at=T0 + timedelta(days=5)), "timed_out"),
    ("opened", None, "timed_out"),
]


@pytest.mark.parametrize(("action", "engagement", "outcome"), ENGAGEMENT_CASES)
def test_wait_for_engagement_with_an_earlier_send(
    action: str, engagement: Engagement | None, outcome: str
) -> None:
    definition = journey(
        {"id": "mail", "type": "send", "channel": "email", "template_id": 1, "next": "w"},
        wait("wait_for_engagement", send_node="mail", action=action, timeout={"days": 3},
             matched="a", timed_out="b"),
    )  # fmt: skip
    facts = Facts(engagement={} if engagement is None else {"mail": engagement})
    state = enter(definition, Facts()).state
    step = advance(definition, state, facts, T0 + timedelta(days=6))
    assert step.transitions[0].branch == outcome


def test_a_waiting_state_survives_a_json_round_trip_and_resumes() -> None:
    definition = purchase_wait()
    state = enter(definition, Facts()).state
    restored = EnrollmentState.from_json(state.to_json())
    assert restored == state
    step = advance(definition, restored, Facts(), T0 + timedelta(days=3))
    assert step.transitions[0].branch == "timed_out"
