"""The step function: advance one enrollment through its journey, given the facts and the time.

`advance` is pure and deterministic: it reads nothing but its arguments and returns the new
state, the effects to carry out and when to come back. Goals and exit criteria are checked
first, on every call; then the contact moves step by step until it must wait, reaches the
end, or has made `max_hops` moves (then it pauses a minute, so a loop can never spin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import assert_never

from journeys.clock import as_utc, date_moment, next_time_of_day, read_date, zone_of
from journeys.definition import JourneyDefinition
from journeys.effects import (
    CallWebhook,
    Converted,
    Effect,
    Exited,
    Send,
    Status,
    Step,
    Transition,
    UpdateConsent,
    UpdateList,
    UpdateProfile,
)
from journeys.facts import Facts
from journeys.matching import engaged_at, first_event, holds, lookup
from journeys.nodes import (
    AnyNode,
    ConditionSplitNode,
    DelayNode,
    EntryApiNode,
    EntryEventNode,
    EntryRecurringNode,
    EntrySegmentNode,
    ExitNode,
    GoalNode,
    RandomSplitNode,
    SendNode,
    UpdateConsentNode,
    UpdateListNode,
    UpdateProfileNode,
    UpliftSplitNode,
    WaitForEngagementNode,
    WaitForEventNode,
    WaitForSegmentNode,
    WaitUntilDateNode,
    WaitUntilTimeNode,
    WebhookNode,
    branch_name,
)
from journeys.parts import Duration, time_of_day
from journeys.state import EnrollmentState, JsonScalar

MAX_HOPS = 50
HOP_PAUSE = timedelta(minutes=1)
RECHECK_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Stay:
    """Wait at the current step until `wake_at` (or a watched fact changes)."""

    wake_at: datetime | None
    data: Mapping[str, JsonScalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Move:
    """Leave the current step by `branch` for `target` (None: the journey ends) at `at`."""

    branch: str
    target: str | None
    at: datetime
    effect: Effect | None = None
    data: Mapping[str, JsonScalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Finish:
    """The journey ends at the current step."""

    status: Status
    effect: Effect


def advance(
    definition: JourneyDefinition,
    state: EnrollmentState,
    facts: Facts,
    now: datetime,
    max_hops: int = MAX_HOPS,
    *,
    recheck_every: timedelta | None = RECHECK_EVERY,
) -> Step:
    """Move the contact on as far as it can go at `now`.

    Waits for events, segments and engagement ask to be advanced again at least every
    `recheck_every` (None: only at their timeout) in case the runner does not wake them.
    """
    now = as_utc(now)
    if state.entered_at.tzinfo is None or state.enrolled_at.tzinfo is None:
        state = replace(
            state, entered_at=as_utc(state.entered_at), enrolled_at=as_utc(state.enrolled_at)
        )
    if state.node_id not in definition.by_id:
        return _unknown(state)
    converted = _goal_reached(definition, state, facts, now)
    if converted is not None:
        return converted
    reason = _exit_reason(definition, state, facts, now)
    if reason is not None:
        moved = Transition(state.node_id, "exit_criteria", None, now)
        exited = Exited(state.node_id, "exit_criteria", reason)
        return Step(state, [exited], "exited", None, [moved])
    effects: list[Effect] = []
    transitions: list[Transition] = []
    current, hops = state, 0
    while True:
        node = definition.by_id.get(current.node_id)
        if node is None:  # only in a draft that never passed validation
            unknown = _unknown(current)
            return replace(unknown, effects=effects + unknown.effects, transitions=transitions)
        outcome = _visit(node, current, facts, now, recheck_every)
        if isinstance(outcome, _Stay):
            if outcome.data:
                current = replace(current, data={**current.data, node.id: outcome.data})
            return Step(current, effects, "waiting", outcome.wake_at, transitions)
        if isinstance(outcome, _Finish):
            return Step(current, [*effects, outcome.effect], outcome.status, None, transitions)
        at = min(max(as_utc(outcome.at), current.entered_at), now)
        transitions.append(Transition(node.id, outcome.branch, outcome.target, at))
        data = {k: v for k, v in current.data.items() if k != node.id}  # a wait's deadline
        if outcome.data:
            data[node.id] = outcome.data  # what the step decided: a draw, a variant
        sent = current.sent
        if outcome.effect is not None:
            effects.append(outcome.effect)
            if isinstance(outcome.effect, Send):
                sent = sent | {node.id}
        if outcome.target is None:
            effects.append(Exited(node.id, "end_of_path"))
            ended = replace(current, data=data, sent=sent)
            return Step(ended, effects, "completed", None, transitions)
        current = EnrollmentState(
            node_id=outcome.target,
            entered_at=at,
            enrolled_at=current.enrolled_at,
            hops=current.hops + 1,
            data={k: v for k, v in data.items() if k != outcome.target},
            sent=sent,
        )
        hops += 1
        if hops >= max_hops:
            return Step(current, effects, "waiting", now + HOP_PAUSE, transitions)


def _unknown(state: EnrollmentState) -> Step:
    detail = f"the journey has no step {state.node_id!r}"
    return Step(state, [Exited(state.node_id, "unknown_step", detail)], "exited", None)


def _goal_reached(
    definition: JourneyDefinition, state: EnrollmentState, facts: Facts, now: datetime
) -> Step | None:
    """Return the conversion when a goal's event happened since the contact enrolled."""
    for goal in definition.goals:
        if goal.id in facts.goals_met:
            at = now
        else:
            event = first_event(facts.events, goal.event_type, goal.filters, state.enrolled_at, now)
            if event is None:
                continue
            at = max(as_utc(event.occurred_at), state.entered_at)
        moved = EnrollmentState(
            node_id=goal.id,
            entered_at=at,
            enrolled_at=state.enrolled_at,
            hops=state.hops + 1,
            data={k: v for k, v in state.data.items() if k != goal.id},
            sent=state.sent,
        )
        transition = Transition(state.node_id, "goal", goal.id, at)
        return Step(moved, [Converted(goal.id, goal.event_type)], "converted", None, [transition])
    return None


def _exit_reason(
    definition: JourneyDefinition, state: EnrollmentState, facts: Facts, now: datetime
) -> str | None:
    if facts.exit_reason:
        return facts.exit_reason
    criteria = definition.settings.exit_criteria
    for segment_id in criteria.segment_ids:
        if segment_id in facts.segments:
            return f"joined segment {segment_id}"
    for event in facts.events:
        if (
            event.type in criteria.event_types
            and state.enrolled_at < as_utc(event.occurred_at) <= now
        ):
            return f"event {event.type}"
    return None


def _visit(
    node: AnyNode,
    state: EnrollmentState,
    facts: Facts,
    now: datetime,
    recheck: timedelta | None,
) -> _Stay | _Move | _Finish:
    """Decide what happens to a contact at `node`, which it reached at `state.entered_at`."""
    at = state.entered_at
    match node:
        case EntrySegmentNode() | EntryEventNode() | EntryRecurringNode() | EntryApiNode():
            return _Move("next", node.next, at)
        case SendNode():
            return _send(node, state, facts, at)
        case DelayNode():
            return _until(at + node.duration.as_timedelta(), now, "next", node.next)
        case WaitUntilTimeNode():
            until = _stored_until(state, node.id) or next_time_of_day(
                at,
                time_of_day(node.time),
                zone_of(facts.time_zone, node.fallback_time_zone),
                node.weekdays,
            )
            return _until(until, now, "next", node.next)
        case WaitUntilDateNode():
            return _wait_until_date(node, state, facts, now)
        case WaitForEventNode():
            deadline = _deadline(node.timeout, at)
            event = first_event(
                facts.events, node.event_type, node.filters, at, min(now, deadline or now)
            )
            if event is not None:
                return _Move("matched", node.matched, event.occurred_at)
            return _watch(deadline, now, recheck, node.timed_out)
        case WaitForSegmentNode():
            deadline = _deadline(node.timeout, at)
            if node.segment_id in facts.segments:
                return _Move("matched", node.matched, min(now, deadline or now))
            return _watch(deadline, now, recheck, node.timed_out)
        case WaitForEngagementNode():
            deadline = _deadline(node.timeout, at)
            engaged = engaged_at(facts, node.send_node, node.action)
            if engaged is not None and as_utc(engaged) <= min(now, deadline or now):
                return _Move("matched", node.matched, max(as_utc(engaged), at))
            return _watch(deadline, now, recheck, node.timed_out)
        case ConditionSplitNode():
            for i, branch in enumerate(node.branches):
                if all(holds(condition, facts, now) for condition in branch.conditions):
                    return _Move(branch_name(node, i), branch.next, at)
            return _Move("else", node.otherwise, at)
        case RandomSplitNode():
            return _random_split(node, facts, at)
        case UpliftSplitNode():
            decision, scored = _uplift(node, facts)
            target = node.send if decision == "send" else node.skip
            return _Move(decision, target, at, data={"decision": decision, "scored": scored})
        case UpdateProfileNode():
            return _Move("next", node.next, at, UpdateProfile(node.id, dict(node.attributes)))
        case UpdateConsentNode():
            effect = UpdateConsent(node.id, node.channel, node.purpose, node.state)
            return _Move("next", node.next, at, effect)
        case UpdateListNode():
            return _Move("next", node.next, at, UpdateList(node.id, node.list_name, node.action))
        case WebhookNode():
            webhook = CallWebhook(
                node_id=node.id,
                url=node.url,
                payload=dict(node.payload),
                save_response_to=node.save_response_to,
                timeout=node.timeout_seconds,
                retries=node.retries,
            )
            return _Move("next", node.next, at, webhook)
        case GoalNode():
            detail = "reached the goal step without its conversion event"
            return _Finish("completed", Exited(node.id, "goal_step", detail))
        case ExitNode():
            return _Finish("completed", Exited(node.id, "exit_node"))
        case _:
            assert_never(node)


def _deadline(timeout: Duration | None, at: datetime) -> datetime | None:
    return None if timeout is None else at + timeout.as_timedelta()


def _stored_until(state: EnrollmentState, node_id: str) -> datetime | None:
    until = state.node_data(node_id).get("until")
    return as_utc(datetime.fromisoformat(until)) if isinstance(until, str) else None


def _until(until: datetime, now: datetime, branch: str, target: str | None) -> _Stay | _Move:
    """Move on when `until` has come; otherwise wait for it (remembering it)."""
    if until <= now:
        return _Move(branch, target, until)
    return _Stay(until, {"until": until.isoformat()})


def _watch(
    deadline: datetime | None, now: datetime, recheck: timedelta | None, timed_out: str | None
) -> _Stay | _Move:
    """Time out at the deadline; until then wait, looking again every `recheck`."""
    if deadline is not None and deadline <= now:
        return _Move("timed_out", timed_out, deadline)
    wakes = [moment for moment in (deadline, None if recheck is None else now + recheck) if moment]
    data: dict[str, JsonScalar] = {} if deadline is None else {"until": deadline.isoformat()}
    return _Stay(min(wakes) if wakes else None, data)


def _wait_until_date(
    node: WaitUntilDateNode, state: EnrollmentState, facts: Facts, now: datetime
) -> _Stay | _Move:
    until = _stored_until(state, node.id)
    if until is None:
        base = read_date(lookup(facts.attributes, node.attribute))
        if base is not None:
            until = date_moment(
                state.entered_at,
                base,
                days_before=node.days_before,
                yearly=node.yearly,
                at=time_of_day(node.time),
                zone=zone_of(facts.time_zone, node.fallback_time_zone),
            )
        if until is None:
            return _Move("missing", node.missing, state.entered_at)
    return _until(until, now, "next", node.next)


def _send(node: SendNode, state: EnrollmentState, facts: Facts, at: datetime) -> _Move:
    if node.id in state.sent:
        return _Move("next", node.next, at, data={"repeat": True})  # never twice
    if node.variants:
        total = sum(variant.share for variant in node.variants)
        point, running = facts.draw(node.id) * total, 0.0
        chosen = node.variants[-1]
        for variant in node.variants:
            running += variant.share
            if point < running:
                chosen = variant
                break
        send = Send(node.id, node.channel, chosen.template_id, chosen.name)
        return _Move("next", node.next, at, send, {"variant": chosen.name})
    if node.template_id is None:  # only in a draft that never passed validation
        return _Move("next", node.next, at)
    return _Move("next", node.next, at, Send(node.id, node.channel, node.template_id))


def _random_split(node: RandomSplitNode, facts: Facts, at: datetime) -> _Move:
    if not node.branches:  # only in a draft that never passed validation
        return _Move("else", None, at)
    draw = facts.draw(node.id)
    point, running = draw * sum(b.percent for b in node.branches), 0.0
    for branch in node.branches:
        running += branch.percent
        if point < running:
            return _Move(branch.name, branch.next, at, data={"draw": draw})
    last = node.branches[-1]
    return _Move(last.name, last.next, at, data={"draw": draw})


def _uplift(node: UpliftSplitNode, facts: Facts) -> tuple[str, bool]:
    """Return ("send" or "skip", whether a score decided it rather than the fallback)."""
    score, percentile = facts.uplift_score, facts.uplift_percentile
    if node.model is not None:
        score, percentile = facts.uplift_by_model.get(node.model, (None, None))
    if node.mode == "threshold":
        if score is None:
            return node.fallback, False
        return ("send" if score >= node.value else "skip"), True
    if percentile is None:
        return node.fallback, False
    return ("send" if percentile < node.value / 100 else "skip"), True
