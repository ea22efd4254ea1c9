"""Properties of validation and the step function over generated journeys, facts and times."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys import (
    Engagement,
    EnrollmentState,
    Event,
    Facts,
    Send,
    advance,
    library,
    parse,
    start,
    validate,
)
from journeys.definition import JourneyDefinition

T0 = datetime(2025, 3, 28, 22, 0, tzinfo=UTC)  # two days before Europe's clocks change
WAITS = ["delay", "wait_until_time", "wait_until_date", "wait_for_event", "wait_for_segment",
         "wait_for_engagement"]  # fmt: skip
INSTANT = ["send", "condition_split", "random_split", "uplift_split", "update_profile",
           "update_consent", "update_list", "webhook"]  # fmt: skip
ZONES = [None, "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham",
         "Not/AZone"]  # fmt: skip
PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _node(
    kind: str, node_id: str, first: str, other: str | None, sends: list[str]
) -> dict[str, Any]:
    """Return a valid step of `kind` whose main exit is `first` and other exit is `other`."""
    timeout = {"hours": 30}
    if kind == "wait_for_engagement" and not sends:
        kind = "delay"
    # fmt: off
    match kind:
        case "send":
            return {"id": node_id, "type": "send", "channel": "email", "template_id": 1,
                    "next": first}
        case "delay":
            return {"id": node_id, "type": "delay", "duration": {"hours": 20}, "next": first}
        case "wait_until_time":
            return {"id": node_id, "type": "wait_until_time", "time": "02:30",
                    "weekdays": ["sun", "wed"], "next": first}
        case "wait_until_date":
            return {"id": node_id, "type": "wait_until_date", "attribute": "birth_date",
                    "yearly": True, "days_before": 3, "next": first, "missing": other}
        case "wait_for_event":
            return {"id": node_id, "type": "wait_for_event", "event_type": "browse",
                    "timeout": timeout, "matched": first, "timed_out": other}
        case "wait_for_segment":
            return {"id": node_id, "type": "wait_for_segment", "segment_id": 2,
                    "timeout": timeout, "matched": first, "timed_out": other}
        case "wait_for_engagement":
            return {"id": node_id, "type": "wait_for_engagement", "send_node": sends[0],
                    "action": "clicked", "timeout": timeout, "matched": first,
                    "timed_out": other}
        case "condition_split":
            return {"id": node_id, "type": "condition_split", "else": other, "branches": [
                {"next": first, "conditions": [
                    {"type": "attribute", "attribute": "attributes.tier", "op": "in",
                     "value": ["gold", 3]}, {"type": "segment", "segment_id": 1}]}]}
        case "random_split":
            return {"id": node_id, "type": "random_split", "branches": [
                {"name": "a", "percent": 33.5, "next": first},
                {"name": "b", "percent": 66.5, "control": True, "next": other}]}
        case "uplift_split":
            return {"id": node_id, "type": "uplift_split", "mode": "top_share", "value": 30,
                    "send": first, "skip": other}
        case "update_profile":
            return {"id": node_id, "type": "update_profile", "attributes": {"x": 1},
                    "next": first}
        case "update_consent":
            return {"id": node_id, "type": "update_consent", "channel": "sms",
                    "state": "opted_in", "next": first}
        case "update_list":
            return {"id": node_id, "type": "update_list", "list_name": "l", "action": "add",
                    "next": first}
        case _:
            return {"id": node_id, "type": "webhook", "url": "https://example.com/h",
                    "next": first}
    # fmt: on


ENTRIES = [
    {"type": "entry_segment", "segment_id": 1},
    {"type": "entry_event", "event_type": "signed_up"},
    {"type": "entry_recurring", "segment_id": 1, "schedule": {"every_days": 2}},
    {"type": "entry_api"},
]


@st.composite
def journeys(draw: st.DrawFn) -> JourneyDefinition:
    """Generate a valid journey: a chain of steps, side exits forward or, from waits, back.

    Only waits lead backwards, so every loop passes a wait.
    """
    kinds = draw(st.lists(st.sampled_from(WAITS + INSTANT), min_size=1, max_size=9))
    ids = [f"n{i}" for i in range(len(kinds))]
    nodes = [{"id": "in", **draw(st.sampled_from(ENTRIES)), "next": "n0"}]
    sends: list[str] = []
    for i, kind in enumerate(kinds):
        first = ids[i + 1] if i + 1 < len(ids) else "x"
        targets = [*ids[i + 1 :], "x", None] + (ids[: i + 1] if kind in WAITS else [])
        nodes.append(_node(kind, ids[i], first, draw(st.sampled_from(targets)), sends))
        if kind == "send":
            sends.append(ids[i])
    nodes += [{"id": "x", "type": "exit"}, {"id": "g", "type": "goal", "event_type": "buy"}]
    criteria = {"segment_ids": [3], "event_types": ["stop"]}
    data = {"version": 1, "name": "generated", "nodes": nodes,
            "settings": {"exit_criteria": criteria}}  # fmt: skip
    assert validate(data) == [], validate(data)
    return parse(data)


moments = st.integers(min_value=0, max_value=24 * 60 * 12).map(lambda m: T0 + timedelta(minutes=m))


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    events = draw(st.lists(st.builds(
        Event,
        st.sampled_from(["browse", "buy", "stop", "signed_up"]),
        moments,
        st.fixed_dictionaries({"total": st.integers(-5, 500)}),
    ), max_size=4))  # fmt: skip
    engaged = st.builds(Engagement, st.none() | moments, st.none() | moments)
    return Facts(
        attributes=draw(st.fixed_dictionaries({
            "birth_date": st.sampled_from(["2000-02-29", "1990-03-31", "nope", None, 19900101]),
            "attributes": st.fixed_dictionaries({"tier": st.sampled_from(["gold", 3, None])}),
        })),
        time_zone=draw(st.sampled_from(ZONES)),
        segments=draw(st.frozensets(st.integers(1, 4), max_size=3)),
        events=events,
        engagement=draw(st.dictionaries(st.sampled_from([f"n{i}" for i in range(9)]), engaged)),
        uplift_score=draw(st.none() | st.floats(-1, 1)),
        uplift_percentile=draw(st.none() | st.floats(0, 1)),
        seed=draw(st.text(max_size=6)),
        draws=draw(st.dictionaries(st.sampled_from(["n0", "n1", "n2"]), st.floats(0, 1))),
    )  # fmt: skip


@PROFILE
@given(journeys(), facts(), moments)
def test_advance_is_deterministic(
    definition: JourneyDefinition, known: Facts, now: datetime
) -> None:
    state = start(definition, "in", T0)
    first = advance(definition, state, known, now)
    assert advance(definition, state, known, now) == first
    again = EnrollmentState.from_json(json.loads(json.dumps(first.state.to_json())))
    assert again == first.state
    assert advance(definition, again, known, now) == advance(definition, first.state, known, now)


@PROFILE
@given(journeys(), st.lists(st.tuples(facts(), st.integers(1, 3000)), min_size=1, max_size=12))
def test_a_valid_journey_never_raises_and_never_sends_a_step_twice(
    definition: JourneyDefinition, ticks: list[tuple[Facts, int]]
) -> None:
    state, now, sends = start(definition, "in", T0), T0, Counter[str]()
    for known, minutes in ticks:
        step = advance(definition, state, known, now)
        sends.update(e.node_id for e in step.effects if isinstance(e, Send))
        assert step.state.hops >= state.hops
        if step.status != "waiting":
            assert step.wake_at is None
            break
        assert step.wake_at is not None and step.wake_at > now
        state, now = step.state, now + timedelta(minutes=minutes)
    assert all(count == 1 for count in sends.values()), sends
    assert set(sends) <= {node.id for node in definition.nodes if node.type == "send"}


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_validate_never_raises_on_any_json(data: Any) -> None:
    problems = validate(data)
    assert isinstance(problems, list)


@PROFILE
@given(st.sampled_from(sorted(library())), st.data())
def test_validate_never_raises_on_a_damaged_journey(key: str, data: st.DataObject) -> None:
    definition = copy.deepcopy(dict(library()[key].definition))
    nodes = definition["nodes"]
    victim = nodes[data.draw(st.integers(0, len(nodes) - 1))]
    field = data.draw(st.sampled_from([*victim, "next", "type", "branches"]))
    victim[field] = data.draw(json_values)
    assert isinstance(validate(definition, templates=[1], segments=[1]), list)
