"""Instant steps, goals, exit criteria and the hop limit of the step function."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from journeys import (
    CallWebhook,
    Converted,
    Engagement,
    EnrollmentState,
    Event,
    Exited,
    Facts,
    Send,
    Step,
    UpdateConsent,
    UpdateList,
    UpdateProfile,
    advance,
    parse,
    stable_draw,
    start,
)
from journeys.definition import JourneyDefinition

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def journey(*nodes: dict[str, Any], **settings: Any) -> JourneyDefinition:
    """Return a valid journey: an API entry leading to the first node, plus exits used."""
    steps = [{"id": "in", "type": "entry_api", "next": nodes[0]["id"]}, *nodes]
    used = json.dumps(steps)
    exits = [{"id": e, "type": "exit"} for e in ("a", "b", "c", "d") if f'"{e}"' in used]
    return parse({"version": 1, "name": "test", "settings": settings, "nodes": [*steps, *exits]})


def enter(definition: JourneyDefinition, facts: Facts, at: datetime = T0) -> Step:
    return advance(definition, start(definition, "in", at), facts, at)


def send(node_id: str, next_id: str | None = None, template_id: int = 1) -> dict[str, Any]:
    return {"id": node_id, "type": "send", "channel": "email", "template_id": template_id,
            "next": next_id}  # fmt: skip


def path(step: Step) -> list[tuple[str, str, str | None]]:
    return [(t.from_node, t.branch, t.to_node) for t in step.transitions]


# --- splits ----------------------------------------------------------------------------------

TIERS = {
    "id": "tier",
    "type": "condition_split",
    "branches": [
        {"name": "gold", "next": "a", "conditions": [
            {"type": "attribute", "attribute": "attributes.tier", "op": "eq", "value": "gold"}]},
        {"name": "big spender", "next": "b", "conditions": [
            {"type": "attribute", "attribute": "attributes.spend", "op": "gte", "value": 500},
            {"type": "segment", "segment_id": 3, "member": False}]},
        {"next": "c", "conditions": [{"type": "segment", "segment_id": 4}]},
    ],
    "else": "d",
}  # fmt: skip


@pytest.mark.parametrize(
    ("attributes", "segments", "branch", "target"),
    [
        ({"attributes": {"tier": "gold", "spend": 900}}, {4}, "gold", "a"),
        ({"attributes": {"tier": "silver", "spend": 900}}, {4}, "big spender", "b"),
        ({"attributes": {"spend": 900}}, {3, 4}, "branch 3", "c"),
        ({"attributes": {"spend": "lots"}}, set(), "else", "d"),
        ({}, set(), "else", "d"),
    ],
)
def test_condition_split_takes_the_first_branch_that_holds(
    attributes: dict[str, Any], segments: set[int], branch: str, target: str
) -> None:
    step = enter(journey(TIERS), Facts(attributes, segments=frozenset(segments)))
    assert path(step)[1] == ("tier", branch, target)


@pytest.mark.parametrize(
    ("condition", "facts", "holds"),
    [
        ({"attribute": "city", "op": "contains", "value": "york"}, {"city": "New York"}, True),
        ({"attribute": "city", "op": "ne", "value": "Paris"}, {}, True),
        ({"attribute": "city", "op": "exists"}, {"city": None}, False),
        ({"attribute": "city", "op": "exists", "value": False}, {}, True),
        ({"attribute": "attributes.tags", "op": "contains", "value": "vip"},
         {"attributes": {"tags": ["new", "vip"]}}, True),
        ({"attribute": "attributes.tags", "op": "in", "value": ["vip", "staff"]},
         {"attributes": {"tags": ["new", "vip"]}}, True),
        ({"attribute": "attributes.opted", "op": "eq", "value": True},
         {"attributes": {"opted": 1}}, False),
        ({"attribute": "birth_date", "op": "lt", "value": "2000-01-01"},
         {"birth_date": "1990-05-20"}, True),
        ({"attribute": "household_income", "op": "lt", "value": 50_000},
         {"household_income": 40_000.5}, True),
    ],
)  # fmt: skip
def test_attribute_conditions(
    condition: dict[str, Any], facts: dict[str, Any], holds: bool
) -> None:
    branch = {"next": "a", "conditions": [{"type": "attribute", **condition}]}
    split = {"id": "s", "type": "condition_split", "else": "b", "branches": [branch]}
    assert path(enter(journey(split), Facts(facts)))[1][2] == ("a" if holds else "b")


def test_engagement_condition_reads_the_earlier_send() -> None:
    definition = journey(
        send("mail", "wait"),
        {"id": "wait", "type": "delay", "duration": {"days": 1}, "next": "s"},
        {"id": "s", "type": "condition_split", "else": "b", "branches": [
            {"next": "a", "conditions": [
                {"type": "engagement", "send_node": "mail", "action": "clicked"}]}]},
    )  # fmt: skip
    state = enter(definition, Facts()).state
    clicked = Facts(engagement={"mail": Engagement(clicked_at=T0 + timedelta(hours=3))})
    assert path(advance(definition, state, clicked, T0 + timedelta(days=1)))[-1][2] == "a"
    assert path(advance(definition, state, Facts(), T0 + timedelta(days=1)))[-1][2] == "b"


SPLIT = {
    "id": "ab",
    "type": "random_split",
    "branches": [
        {"name": "first", "percent": 60, "next": "a"},
        {"name": "second", "percent": 30, "next": "b"},
        {"name": "holdout", "percent": 10, "control": True, "next": "c"},
    ],
}


@pytest.mark.parametrize(
    ("draw", "branch"),
    [(0.0, "first"), (0.5999, "first"), (0.6, "second"), (0.8999, "second"), (0.9, "holdout"),
     (0.999999, "holdout"), (1.0, "holdout")],
)  # fmt: skip
def test_random_split_follows_the_draw(draw: float, branch: str) -> None:
    step = enter(journey(SPLIT), Facts(draws={"ab": draw}))
    assert path(step)[1][1] == branch
    assert step.state.node_data("ab")["draw"] == pytest.approx(min(draw, 0.999999))


def test_random_split_is_stable_per_enrollment_and_close_to_its_percentages() -> None:
    definition = journey(SPLIT)
    picks = Counter(path(enter(definition, Facts(seed=f"e{i}")))[1][1] for i in range(3000))
    again = Counter(path(enter(definition, Facts(seed=f"e{i}")))[1][1] for i in range(3000))
    assert picks == again
    assert abs(picks["first"] / 3000 - 0.6) < 0.04
    assert abs(picks["holdout"] / 3000 - 0.1) < 0.03
    assert 0 <= stable_draw("e1", "ab") < 1


def test_send_variants_split_by_share() -> None:
    node = {"id": "mail", "type": "send", "channel": "sms", "variants": [
        {"name": "short", "share": 50, "template_id": 11},
        {"name": "long", "share": 50, "template_id": 12}]}  # fmt: skip
    definition = journey(node)
    low = enter(definition, Facts(draws={"mail": 0.2}))
    high = enter(definition, Facts(draws={"mail": 0.7}))
    assert low.effects[0] == Send("mail", "sms", 11, "short")
    assert high.effects[0] == Send("mail", "sms", 12, "long")
    assert high.state.node_data("mail") == {"variant": "long"}


@pytest.mark.parametrize(
    ("mode", "value", "fallback", "facts", "decision"),
    [
        ("threshold", 0.02, "send", Facts(uplift_score=0.05), "send"),
        ("threshold", 0.02, "send", Facts(uplift_score=0.01), "skip"),
        ("threshold", 0.02, "send", Facts(uplift_score=0.02), "send"),
        ("threshold", 0.02, "send", Facts(), "send"),
        ("threshold", 0.02, "skip", Facts(), "skip"),
        ("top_share", 20, "skip", Facts(uplift_percentile=0.1), "send"),
        ("top_share", 20, "skip", Facts(uplift_percentile=0.5), "skip"),
        ("top_share", 20, "send", Facts(uplift_score=0.9), "send"),
        ("top_share", 20, "skip", Facts(uplift_score=0.9), "skip"),
    ],
)
def test_uplift_split(mode: str, value: float, fallback: str, facts: Facts, decision: str) -> None:
    node = {"id": "u", "type": "uplift_split", "mode": mode, "value": value,
            "fallback": fallback, "send": "a", "skip": "b"}  # fmt: skip
    step = enter(journey(node), facts)
    assert path(step)[1] == ("u", decision, "a" if decision == "send" else "b")
    scored = facts.uplift_score is not None if mode == "threshold" else facts.uplift_percentile
    assert step.state.node_data("u")["scored"] is (scored is not None and scored is not False)


@pytest.mark.parametrize(
    ("facts", "decision"),
    [
        (Facts(uplift_score=0.9, uplift_by_model={"offer": (0.01, 0.9)}), "skip"),
        (Facts(uplift_score=0.0, uplift_by_model={"offer": (0.05, 0.1)}), "send"),
        (Facts(uplift_score=0.9, uplift_by_model={"other": (0.05, 0.1)}), "skip"),  # unscored
    ],
)
def test_uplift_split_naming_a_model_reads_that_models_score(facts: Facts, decision: str) -> None:
    node = {"id": "u", "type": "uplift_split", "model": "offer", "mode": "threshold",
            "value": 0.02, "fallback": "skip", "send": "a", "skip": "b"}  # fmt: skip
    step = enter(journey(node), facts)
    assert path(step)[1] == ("u", decision, "a" if decision == "send" else "b")


# --- actions ---------------------------------------------------------------------------------


def test_actions_become_effects_in_order_and_the_path_ends_completed() -> None:
    definition = journey(
        {"id": "p", "type": "update_profile", "attributes": {"stage": "vip", "old": None},
         "next": "c1"},
        {"id": "c1", "type": "update_consent", "channel": "sms", "state": "opted_out",
         "next": "l"},
        {"id": "l", "type": "update_list", "list_name": "vip", "action": "add", "next": "h"},
        {"id": "h", "type": "webhook", "url": "https://crm.example.com/hook",
         "payload": {"source": "journey"}, "save_response_to": "crm_id", "timeout_seconds": 5,
         "retries": 3, "next": "m"},
        send("m"),
    )  # fmt: skip
    step = enter(definition, Facts())
    assert step.effects == [
        UpdateProfile("p", {"stage": "vip", "old": None}),
        UpdateConsent("c1", "sms", "marketing", "opted_out"),
        UpdateList("l", "vip", "add"),
        CallWebhook("h", "https://crm.example.com/hook", {"source": "journey"}, "crm_id", 5, 3),
        Send("m", "email", 1),
        Exited("m", "end_of_path"),
    ]
    assert (step.status, step.wake_at) == ("completed", None)
    assert step.state.sent == frozenset({"m"})


def test_exit_step_completes_the_journey() -> None:
    step = enter(journey(send("m", "a")), Facts())
    assert (step.status, step.effects[-1]) == ("completed", Exited("a", "exit_node"))


def test_a_send_step_never_sends_twice_to_one_enrollment() -> None:
    definition = journey(
        send("m", "w"),
        {"id": "w", "type": "wait_for_event", "event_type": "purchase",
         "timeout": {"days": 2}, "matched": "a", "timed_out": "m"},
    )  # fmt: skip
    step, sends = enter(definition, Facts()), []
    for day in range(2, 12, 2):
        sends += [e for e in step.effects if isinstance(e, Send)]
        step = advance(definition, step.state, Facts(), T0 + timedelta(days=day))
    assert len(sends) == 1
    assert step.state.node_data("m") == {"repeat": True}


# --- goals and exit criteria -----------------------------------------------------------------

WAITING_JOURNEY = [
    send("m", "w"),
    {"id": "w", "type": "delay", "duration": {"days": 5}, "next": "m2"},
    send("m2", "a", 2),
    {"id": "goal", "type": "goal", "event_type": "purchase",
     "filters": [{"property": "total", "op": "gt", "value": 0}]},
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "goals_met", "converted"),
    [
        ([Event("purchase", T0 + timedelta(days=1), {"total": 30})], frozenset(), True),
        ([Event("purchase", T0 + timedelta(days=1), {"total": 0})], frozenset(), False),
        ([Event("purchase", T0 - timedelta(days=1), {"total": 30})], frozenset(), False),
        ([Event("purchase", T0 + timedelta(days=9), {"total": 30})], frozenset(), False),
        ([], frozenset({"goal"}), True),
    ],
)
def test_goals_are_checked_at_every_step_not_only_on_reaching_them(
    events: list[Event], goals_met: frozenset[str], converted: bool
) -> None:
    definition = journey(*WAITING_JOURNEY)
    waiting = enter(definition, Facts()).state
    step = advance(
        definition, waiting, Facts(events=events, goals_met=goals_met), T0 + timedelta(days=2)
    )
    if converted:
        assert (step.status, step.effects, step.state.node_id) == (
            "converted",
            [Converted("goal", "purchase")],
            "goal",
        )
        assert path(step) == [("w", "goal", "goal")]
    else:
        assert (step.status, step.state.node_id) == ("waiting", "w")


def test_a_goal_met_before_the_first_step_means_no_send() -> None:
    definition = journey(*WAITING_JOURNEY)
    state = start(definition, "in", T0)
    bought = Facts(events=[Event("purchase", T0 + timedelta(seconds=1), {"total": 5})])
    step = advance(definition, state, bought, T0 + timedelta(minutes=1))
    assert step.status == "converted"
    assert not [e for e in step.effects if isinstance(e, Send)]


def test_reaching_a_goal_step_along_a_path_completes_without_converting() -> None:
    definition = journey(send("m", "goal"), {"id": "goal", "type": "goal", "event_type": "buy"})
    step = enter(definition, Facts())
    assert step.status == "completed"
    assert step.effects[-1] == Exited("goal", "goal_step", step.effects[-1].detail)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (Facts(segments=frozenset({9})), "joined segment 9"),
        (Facts(events=[Event("unsubscribed", T0 + timedelta(days=1))]), "event unsubscribed"),
        (Facts(exit_reason="contact deleted"), "contact deleted"),
    ],
)
def test_exit_criteria_take_the_contact_out_wherever_it_is(facts: Facts, reason: str) -> None:
    settings = {"exit_criteria": {"segment_ids": [9], "event_types": ["unsubscribed"]}}
    definition = journey(*WAITING_JOURNEY, **settings)
    waiting = enter(definition, Facts()).state
    step = advance(definition, waiting, facts, T0 + timedelta(days=2))
    assert (step.status, step.effects) == ("exited", [Exited("w", "exit_criteria", reason)])
    assert step.state == waiting
    assert path(step) == [("w", "exit_criteria", None)]


def test_exit_events_from_before_the_enrollment_do_not_count() -> None:
    definition = journey(*WAITING_JOURNEY, exit_criteria={"event_types": ["unsubscribed"]})
    old = Facts(events=[Event("unsubscribed", T0 - timedelta(days=30))])
    assert enter(definition, old).status == "waiting"


# --- hop limit and damaged states ------------------------------------------------------------


def test_the_hop_limit_pauses_a_long_walk_for_a_minute_then_resumes() -> None:
    chain = [
        {"id": f"p{i}", "type": "update_profile", "attributes": {"n": i}, "next": f"p{i + 1}"}
        for i in range(59)
    ] + [{"id": "p59", "type": "update_profile", "attributes": {"n": 59}, "next": "a"}]
    definition = journey(*chain)
    first = enter(definition, Facts())
    assert (first.status, first.wake_at, len(first.effects)) == (
        "waiting",
        T0 + timedelta(minutes=1),
        49,
    )
    assert first.state.node_id == "p49"
    rest = advance(definition, first.state, Facts(), T0 + timedelta(minutes=1))
    assert rest.status == "completed"
    assert len(first.effects) + len(rest.effects) == 61  # 60 updates and the exit


def test_a_loop_that_never_waits_is_cut_by_the_hop_limit() -> None:
    definition = journey(
        {"id": "w", "type": "wait_for_segment", "segment_id": 1, "timeout": {"days": 1},
         "matched": "p", "timed_out": "a"},
        {"id": "p", "type": "update_profile", "attributes": {"loop": True}, "next": "w"},
    )  # fmt: skip
    step = enter(definition, Facts(segments=frozenset({1})), T0)
    assert (step.status, step.wake_at) == ("waiting", T0 + timedelta(minutes=1))
    assert len(step.transitions) == 50


def test_a_state_at_an_unknown_step_exits() -> None:
    definition = journey(send("m"))
    state = EnrollmentState("gone", T0, T0)
    step = advance(definition, state, Facts(), T0)
    assert (step.status, step.effects[0].reason) == ("exited", "unknown_step")  # type: ignore[union-attr]


def test_naive_times_are_read_as_utc() -> None:
    definition = journey({"id": "w", "type": "delay", "duration": {"hours": 1}, "next": "a"})
    naive = T0.replace(tzinfo=None)
    step = advance(definition, EnrollmentState("in", naive, naive), Facts(), naive)
    assert step.wake_at == T0 + timedelta(hours=1)
