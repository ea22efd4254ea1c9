"""A journey definition: versioned JSON with settings and a flat list of steps, and its schema."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from journeys.nodes import (
    ENTRY_TYPES,
    AnyNode,
    EntryNode,
    GoalNode,
    Node,
)
from journeys.parts import EventType, Model, SegmentId

VERSION: Literal[1] = 1
MAX_NODES = 500
SCHEMA_FILE = "journey-definition.schema.json"


class ExitCriteria(Model):
    """Contacts leave the journey, wherever they are, on joining a segment or on an event."""

    segment_ids: Annotated[list[SegmentId], Field(max_length=50)] = []
    event_types: Annotated[list[EventType], Field(max_length=50)] = []


class Settings(Model):
    """Journey-wide rules: re-entry, entry cap, exit criteria and the holdout share.

    `reentry`: `never` (once per contact), `after_exit` (again once the previous enrollment
    has finished) or `cooldown` (again, even while still in the journey, once `cooldown_days`
    have passed since the last entry). `max_entries` caps entries per contact (none: no cap).
    `holdout_percent` of entering contacts are held out: enrolled for measurement, never
    walked. Quiet hours, frequency caps and consent are the platform's contact policy.
    """

    reentry: Literal["never", "after_exit", "cooldown"] = "never"
    cooldown_days: Annotated[int, Field(ge=1, le=3_650)] | None = None
    max_entries: Annotated[int, Field(ge=1, le=1_000)] | None = None
    exit_criteria: ExitCriteria = ExitCriteria()
    holdout_percent: Annotated[float, Field(ge=0, le=50)] = 0


class JourneyDefinition(Model):
    """A journey: `{"version": 1, "name", "settings", "nodes": [...]}`."""

    version: Literal[1] = VERSION
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2_000)] | None = None
    settings: Settings = Settings()
    nodes: Annotated[list[Node], Field(max_length=MAX_NODES)]

    @cached_property
    def by_id(self) -> dict[str, AnyNode]:
        """Return the steps by id (the first one, should ids repeat in an unvalidated draft)."""
        found: dict[str, AnyNode] = {}
        for node in self.nodes:
            found.setdefault(node.id, node)
        return found

    @cached_property
    def entries(self) -> tuple[EntryNode, ...]:
        """Return the entry steps, in definition order."""
        return tuple(node for node in self.nodes if isinstance(node, ENTRY_TYPES))

    @cached_property
    def goals(self) -> tuple[GoalNode, ...]:
        """Return the goal steps, in definition order."""
        return tuple(node for node in self.nodes if isinstance(node, GoalNode))

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Return scratch space for data derived from this (immutable) definition."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """Return the definition as stored JSON data (`else` spelt as in the format)."""
        return self.model_dump(mode="json", by_alias=True)


def journey_schema() -> dict[str, Any]:
    """Return the JSON Schema of journey definitions."""
    return JourneyDefinition.model_json_schema(by_alias=True)


def write_schema(path: Path | str) -> None:
    """Write the JSON Schema (as published at `docs/journey-definition.schema.json`)."""
    text = json.dumps(journey_schema(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")
