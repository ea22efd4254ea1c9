"""Simulate a journey over contacts in simulated time, sending nothing: counts per step and exit.

Each contact enters, then `advance` runs whenever its wait ends or its facts change (a
scripted event, a segment join, an open or click drawn by the facts model), until the
simulated period is over. Holdout contacts are counted and never walked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from journeys.clock import as_utc
from journeys.definition import JourneyDefinition
from journeys.effects import Converted, Exited, Send, Step
from journeys.engine import MAX_HOPS, advance
from journeys.entries import in_holdout
from journeys.entries import start as enroll
from journeys.facts import Engagement, Event, Facts, stable_draw
from journeys.state import EnrollmentState

MAX_ADVANCES = 10_000  # per contact: a safety net far above any sensible journey


@dataclass(frozen=True, slots=True)
class SimContact:
    """A contact to simulate: its facts, what it will do, and when it enters (default: start).

    `events` happen at their `occurred_at` in simulated time; `segment_joins` maps a segment
    id to when the contact joins it. `entry_id` defaults to the journey's first entry.
    """

    key: str
    facts: Facts = field(default_factory=Facts)
    events: Sequence[Event] = ()
    segment_joins: Mapping[int, datetime] = field(default_factory=dict)
    enters_at: datetime | None = None
    entry_id: str | None = None


class FactsModel(Protocol):
    """How a simulated contact's facts evolve: what they are now, and when they next change."""

    def facts(
        self,
        contact: SimContact,
        state: EnrollmentState,
        now: datetime,
        sent: Mapping[str, datetime],
    ) -> Facts:
        """Return the contact's facts at `now`, given when each send step sent to it."""
        ...

    def next_change(
        self, contact: SimContact, now: datetime, sent: Mapping[str, datetime]
    ) -> datetime | None:
        """Return the first moment after `now` when the contact's facts change, if any."""
        ...


@dataclass(frozen=True, slots=True)
class ScriptedFacts:
    """Scripted events and segment joins; opens and clicks drawn at fixed rates per send.

    A contact clicks with probability `click_rate` and opens with `open_rate` (a click counts
    as an open), `engagement_delay` after the message was sent; draws are stable per contact.
    """

    open_rate: float = 0.0
    click_rate: float = 0.0
    engagement_delay: timedelta = timedelta(hours=2)

    def facts(
        self,
        contact: SimContact,
        state: EnrollmentState,
        now: datetime,
        sent: Mapping[str, datetime],
    ) -> Facts:
        """Return the contact's facts with what has happened by `now`."""
        happened = [e for e in contact.events if as_utc(e.occurred_at) <= now]
        events = [*contact.facts.events, *happened]
        joined = {s for s, at in contact.segment_joins.items() if as_utc(at) <= now}
        engagement = dict(contact.facts.engagement)
        for node_id, sent_at in sent.items():
            opened, clicked = self._engagement(contact, node_id, sent_at)
            engagement[node_id] = Engagement(
                opened_at=opened if opened and opened <= now else None,
                clicked_at=clicked if clicked and clicked <= now else None,
            )
        return replace(
            contact.facts,
            events=events,
            segments=contact.facts.segments | joined,
            engagement=engagement,
            seed=contact.facts.seed or contact.key,
        )

    def next_change(
        self, contact: SimContact, now: datetime, sent: Mapping[str, datetime]
    ) -> datetime | None:
        """Return the next scripted event, segment join, open or click after `now`."""
        moments = [as_utc(e.occurred_at) for e in contact.events]
        moments += [as_utc(at) for at in contact.segment_joins.values()]
        for node_id, sent_at in sent.items():
            moments += [m for m in self._engagement(contact, node_id, sent_at) if m is not None]
        later = [moment for moment in moments if moment > now]
        return min(later) if later else None

    def _engagement(
        self, contact: SimContact, node_id: str, sent_at: datetime
    ) -> tuple[datetime | None, datetime | None]:
        draw = stable_draw(contact.key, f"engagement:{node_id}")
        at = sent_at + self.engagement_delay
        clicked = at if draw < self.click_rate else None
        opened = at if draw < max(self.open_rate, self.click_rate) else None
        return opened, clicked


@dataclass(frozen=True, slots=True)
class NodeCounts:
    """One step in the simulation: contacts that reached it, are still there, left by each
    branch, and whose journey ended there (exit, goal, end of a path or exit criteria)."""

    entered: int = 0
    waiting: int = 0
    left_by: Mapping[str, int] = field(default_factory=dict)
    ended: int = 0


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What happened over the simulated period; nothing was sent."""

    start: datetime
    end: datetime
    contacts: int
    entered: int
    held_out: int
    nodes: Mapping[str, NodeCounts]
    outcomes: Mapping[str, int]
    goals: Mapping[str, int]
    exits: Mapping[str, int]
    exit_criteria: int
    sends: Mapping[str, int]
    actions: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """Return the result as JSON data, for the CLI and the canvas."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "contacts": self.contacts,
            "entered": self.entered,
            "held_out": self.held_out,
            "nodes": {
                node_id: {
                    "entered": c.entered,
                    "waiting": c.waiting,
                    "left_by": dict(c.left_by),
                    "ended": c.ended,
                }
                for node_id, c in self.nodes.items()
            },
            "outcomes": dict(self.outcomes),
            "goals": dict(self.goals),
            "exits": dict(self.exits),
            "exit_criteria": self.exit_criteria,
            "sends": dict(self.sends),
            "actions": dict(self.actions),
        }


@dataclass
class _Tally:
    entered: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    left_by: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ended: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    goals: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    sends: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    held_out: int = 0
    exit_criteria: int = 0

    def record(self, step: Step, sent: dict[str, datetime]) -> None:
        left_at = {t.from_node: t.at for t in step.transitions}
        for transition in step.transitions:
            self.left_by[transition.from_node][transition.branch] += 1
            if transition.to_node is not None:
                self.entered[transition.to_node] += 1
        for effect in step.effects:
            if isinstance(effect, Send):
                self.sends[effect.node_id] += 1
                sent[effect.node_id] = left_at.get(effect.node_id, step.state.entered_at)
            elif isinstance(effect, Converted):
                self.goals[effect.node_id] += 1
                self.ended[effect.node_id] += 1
            elif isinstance(effect, Exited):
                self.ended[effect.node_id] += 1
                if effect.reason == "exit_node":
                    self.exits[effect.node_id] += 1
                elif effect.reason == "exit_criteria":
                    self.exit_criteria += 1
            else:
                self.actions[effect.node_id] += 1


def simulate(
    definition: JourneyDefinition,
    contacts: Sequence[SimContact],
    start: datetime,
    days: int,
    facts_model: FactsModel | None = None,
    *,
    max_hops: int = MAX_HOPS,
) -> SimulationResult:
    """Run the journey over `contacts` from `start` for `days` days of simulated time."""
    begin = as_utc(start)
    end = begin + timedelta(days=days)
    model: FactsModel = facts_model or ScriptedFacts()
    tally = _Tally()
    first_entry = definition.entries[0].id if definition.entries else None
    entered = 0
    for contact in contacts:
        entry_id = contact.entry_id or first_entry
        enters_at = as_utc(contact.enters_at) if contact.enters_at else begin
        if entry_id is None or enters_at > end:
            continue
        if in_holdout(definition, contact.key):
            tally.held_out += 1
            continue
        entered += 1
        tally.entered[entry_id] += 1
        state = enroll(definition, entry_id, enters_at)
        _walk(definition, contact, state, end, model, max_hops, tally)
    nodes = {
        node.id: NodeCounts(
            entered=tally.entered[node.id],
            waiting=tally.waiting[node.id],
            left_by=dict(tally.left_by[node.id]),
            ended=tally.ended[node.id],
        )
        for node in definition.nodes
    }
    return SimulationResult(
        start=begin,
        end=end,
        contacts=len(contacts),
        entered=entered,
        held_out=tally.held_out,
        nodes=nodes,
        outcomes=dict(tally.outcomes),
        goals=dict(tally.goals),
        exits=dict(tally.exits),
        exit_criteria=tally.exit_criteria,
        sends=dict(tally.sends),
        actions=dict(tally.actions),
    )


def _walk(
    definition: JourneyDefinition,
    contact: SimContact,
    state: EnrollmentState,
    end: datetime,
    model: FactsModel,
    max_hops: int,
    tally: _Tally,
) -> None:
    """Advance one contact until its journey ends or the simulated period does."""
    now, sent = state.entered_at, dict[str, datetime]()
    for _ in range(MAX_ADVANCES):
        facts = model.facts(contact, state, now, sent)
        step = advance(definition, state, facts, now, max_hops, recheck_every=None)
        tally.record(step, sent)
        state = step.state
        if step.status != "waiting":
            tally.outcomes[step.status] += 1
            return
        moments = [m for m in (step.wake_at, model.next_change(contact, now, sent)) if m]
        if not moments or min(moments) > end:
            break
        now = max(min(moments), now + timedelta(microseconds=1))
    tally.outcomes["waiting"] += 1
    tally.waiting[state.node_id] += 1
