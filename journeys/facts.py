"""What the runner tells the engine about a contact, and which facts a step needs gathered.

The engine never reads a database: the runner gathers exactly what `facts_needed` lists for
the contact's current step and passes it in as `Facts`. Random draws come from the caller
(`draws`) or from `stable_draw(seed, node_id)`, so the same inputs always give the same step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from journeys.definition import JourneyDefinition
from journeys.graph import Edges, reachable
from journeys.nodes import (
    AnyNode,
    ConditionSplitNode,
    UpliftSplitNode,
    WaitForEngagementNode,
    WaitForEventNode,
    WaitForSegmentNode,
    WaitUntilDateNode,
    WaitUntilTimeNode,
    exits_of,
)
from journeys.parts import AttributeCondition, EngagementCondition, SegmentCondition

HOLDOUT_KEY = "journey:holdout"  # not a valid node id, so it never collides with one


class Event(NamedTuple):
    """Something the contact did: its type, when, and its properties."""

    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Engagement:
    """When the contact first opened and first clicked the message of one send step."""

    opened_at: datetime | None = None
    clicked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the runner knows about the contact now.

    `attributes`: the profile, built-in fields at the top level and custom attributes in a
    nested `attributes` mapping (`attributes.renewal_date` reads `["attributes"]["renewal_date"]`).
    `segments`: ids of the segments (among those asked for) the contact is in now.
    `events`: the contact's events of the asked-for types since it entered the current step
    (older or future ones are ignored). `engagement`: per send step id. `uplift_score` (higher
    means more uplift) and `uplift_percentile` (the share of scored contacts ranked above this
    one, 0 to 1) come from the stored scores of the most recently promoted uplift model;
    `uplift_by_model` holds (score, percentile) under each model a step names. `draws`
    overrides `stable_draw(seed, id)` per step. `goals_met` (goal step ids) and `exit_reason`
    let a runner report a goal or an exit criterion it matched itself.
    """

    attributes: Mapping[str, Any] = field(default_factory=dict)
    time_zone: str | None = None
    segments: frozenset[int] = frozenset()
    events: Sequence[Event] = ()
    engagement: Mapping[str, Engagement] = field(default_factory=dict)
    uplift_score: float | None = None
    uplift_percentile: float | None = None
    uplift_by_model: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    seed: str = ""
    draws: Mapping[str, float] = field(default_factory=dict)
    goals_met: frozenset[str] = frozenset()
    exit_reason: str | None = None

    def draw(self, key: str) -> float:
        """Return the random number in [0, 1) for a step (or another key)."""
        value = self.draws.get(key)
        return stable_draw(self.seed, key) if value is None else min(max(value, 0.0), 0.999999)


def stable_draw(seed: str, key: str) -> float:
    """Return a number in [0, 1) fixed by `seed` (an enrollment id) and `key` (a step id)."""
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class FactNeeds:
    """What to gather before advancing a contact from a step."""

    segment_ids: frozenset[int] = frozenset()
    event_types: frozenset[str] = frozenset()
    engagement_nodes: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    time_zone: bool = False
    uplift: bool = False  # the default (latest promoted) model's score
    uplift_models: frozenset[str] = frozenset()  # named models' scores


def facts_needed(definition: JourneyDefinition, node_id: str) -> FactNeeds:
    """Return the facts `advance` may read for a contact at `node_id`.

    That is the journey's goals and exit criteria, plus every step the contact could reach
    from here in one call (after a wait ends, the steps behind it run at once).
    """
    cache = _needs_cache(definition)
    if node_id not in cache:
        cache[node_id] = _gather(definition, node_id)
    return cache[node_id]


def _needs_cache(definition: JourneyDefinition) -> dict[str, FactNeeds]:
    cache: dict[str, FactNeeds] = definition.memo.setdefault("fact_needs", {})
    return cache


def _gather(definition: JourneyDefinition, node_id: str) -> FactNeeds:
    edges: Edges = {
        node.id: [(path, target) for _, path, target in exits_of(node) if target is not None]
        for node in definition.nodes
    }
    criteria = definition.settings.exit_criteria
    segment_ids = set(criteria.segment_ids)
    event_types = set(criteria.event_types) | {goal.event_type for goal in definition.goals}
    engagement: set[str] = set()
    attributes: set[str] = set()
    uplift_models: set[str] = set()
    time_zone = uplift = False
    for step_id in reachable([node_id], edges) if node_id in definition.by_id else []:
        node: AnyNode = definition.by_id[step_id]
        if isinstance(node, WaitForEventNode):
            event_types.add(node.event_type)
        elif isinstance(node, WaitForSegmentNode):
            segment_ids.add(node.segment_id)
        elif isinstance(node, WaitForEngagementNode):
            engagement.add(node.send_node)
        elif isinstance(node, WaitUntilTimeNode):
            time_zone = True
        elif isinstance(node, WaitUntilDateNode):
            time_zone = True
            attributes.add(node.attribute)
        elif isinstance(node, UpliftSplitNode):
            if node.model is None:
                uplift = True
            else:
                uplift_models.add(node.model)
        elif isinstance(node, ConditionSplitNode):
            for branch in node.branches:
                for condition in branch.conditions:
                    if isinstance(condition, SegmentCondition):
                        segment_ids.add(condition.segment_id)
                    elif isinstance(condition, AttributeCondition):
                        attributes.add(condition.attribute)
                    elif isinstance(condition, EngagementCondition):
                        engagement.add(condition.send_node)
    return FactNeeds(
        segment_ids=frozenset(segment_ids),
        event_types=frozenset(event_types),
        engagement_nodes=frozenset(engagement),
        attributes=frozenset(attributes),
        time_zone=time_zone,
        uplift=uplift,
        uplift_models=frozenset(uplift_models),
    )
