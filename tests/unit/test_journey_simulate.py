"""Simulating a journey over contacts in simulated time: counts per step and per exit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from journeys import Event, Facts, ScriptedFacts, SimContact, library, parse, simulate

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

DEFINITION = parse(
    {
        "version": 1,
        "name": "Welcome",
        "settings": {"exit_criteria": {"event_types": ["unsubscribed"]}},
        "nodes": [
            {"id": "in", "type": "entry_api", "next": "hello"},
            {"id": "hello", "type": "send", "channel": "email", "template_id": 1, "next": "w"},
            {"id": "w", "type": "wait_for_engagement", "send_node": "hello", "action": "opened",
             "timeout": {"days": 7}, "matched": "done", "timed_out": "nudge"},
            {"id": "nudge", "type": "send", "channel": "sms", "template_id": 2, "next": "tag"},
            {"id": "tag", "type": "update_profile", "attributes": {"nudged": True},
             "next": "done"},
            {"id": "done", "type": "exit"},
            {"id": "goal", "type": "goal", "event_type": "purchase"},
        ],
    }
)  # fmt: skip


def contacts() -> list[SimContact]:
    people = [SimContact(f"c{i}") for i in range(100)]
    # Both act an hour in, before any open (opens come two hours after the send).
    people[0] = SimContact("buyer", events=[Event("purchase", T0 + timedelta(hours=1))])
    people[1] = SimContact("quitter", events=[Event("unsubscribed", T0 + timedelta(hours=1))])
    people[2] = SimContact("late", enters_at=T0 + timedelta(days=9))
    people[3] = SimContact("too late", enters_at=T0 + timedelta(days=40))
    return people


def test_simulation_counts_each_step_branch_and_ending() -> None:
    result = simulate(DEFINITION, contacts(), T0, 30, ScriptedFacts(open_rate=0.3))
    assert (result.contacts, result.entered, result.held_out) == (100, 99, 0)
    nodes = result.nodes
    assert nodes["in"].entered == 99 and nodes["in"].left_by == {"next": 99}
    assert result.sends["hello"] == 99
    left = nodes["w"].left_by
    assert left["goal"] == 1 and left["exit_criteria"] == 1
    assert left["matched"] + left["timed_out"] == 97
    assert 15 < left["matched"] < 45  # about 30% open
    assert result.sends["nudge"] == left["timed_out"] == result.actions["tag"]
    assert result.goals == {"goal": 1} and result.exit_criteria == 1
    assert result.exits == {"done": 97}
    assert result.outcomes == {"converted": 1, "exited": 1, "completed": 97}
    assert sum(n.waiting for n in nodes.values()) == 0


def test_contacts_still_waiting_when_time_runs_out_are_counted_where_they_wait() -> None:
    result = simulate(DEFINITION, contacts(), T0, 5)
    assert result.nodes["w"].waiting == result.outcomes["waiting"] == 96
    assert result.sends.get("nudge", 0) == 0


def test_simulation_sends_nothing_and_is_repeatable() -> None:
    first = simulate(DEFINITION, contacts(), T0, 30, ScriptedFacts(open_rate=0.5))
    again = simulate(DEFINITION, contacts(), T0, 30, ScriptedFacts(open_rate=0.5))
    assert first == again
    assert json.loads(json.dumps(first.to_json()))["nodes"]["w"]["left_by"]["goal"] == 1


def test_holdout_contacts_are_counted_but_never_walked() -> None:
    held = parse({**DEFINITION.to_json(), "settings": {"holdout_percent": 50}})
    result = simulate(held, [SimContact(f"c{i}") for i in range(400)], T0, 10)
    assert result.held_out + result.entered == 400
    assert 150 < result.held_out < 250
    assert result.sends["hello"] == result.entered


def test_library_journeys_simulate_over_demo_like_contacts() -> None:
    journey = library()["post_purchase_cross_sell"]
    ids = {r.name: i + 1 for i, r in enumerate(journey.requires)}
    definition = parse(journey.install(templates=ids, segments=ids))
    people = [
        SimContact(
            f"c{i}",
            facts=Facts(time_zone="Europe/Paris"),
            events=[Event("order_placed", T0 + timedelta(days=5))] if i % 4 == 0 else [],
        )
        for i in range(40)
    ]
    result = simulate(definition, people, T0, 30)
    assert result.sends["cross_sell"] == 40
    assert result.sends["up_sell"] == 30  # those who had not ordered again by day 8
    assert result.goals == {"goal": 10}
    assert result.outcomes == {"converted": 10, "completed": 30}
