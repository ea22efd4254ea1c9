"""Journeys: pure journey definitions, validation and the step function (advance)."""

from journeys.definition import (
    VERSION,
    ExitCriteria,
    JourneyDefinition,
    Settings,
    journey_schema,
    write_schema,
)
from journeys.effects import (
    CallWebhook,
    Converted,
    Effect,
    Exited,
    ExitReason,
    Send,
    Status,
    Step,
    Transition,
    UpdateConsent,
    UpdateList,
    UpdateProfile,
)
from journeys.engine import MAX_HOPS, RECHECK_EVERY, advance
from journeys.entries import entries_for_event, entry_nodes, in_holdout, may_enter, next_run, start
from journeys.facts import Engagement, Event, FactNeeds, Facts, facts_needed, stable_draw
from journeys.library import LibraryJourney, Requirement, library
from journeys.problems import JourneyError, Problem
from journeys.simulate import (
    FactsModel,
    NodeCounts,
    ScriptedFacts,
    SimContact,
    SimulationResult,
    simulate,
)
from journeys.state import EnrollmentState
from journeys.validation import parse, validate

__all__ = [
    "MAX_HOPS",
    "RECHECK_EVERY",
    "VERSION",
    "CallWebhook",
    "Converted",
    "Effect",
    "Engagement",
    "EnrollmentState",
    "Event",
    "ExitCriteria",
    "ExitReason",
    "Exited",
    "FactNeeds",
    "Facts",
    "FactsModel",
    "JourneyDefinition",
    "JourneyError",
    "LibraryJourney",
    "NodeCounts",
    "Problem",
    "Requirement",
    "ScriptedFacts",
    "Send",
    "Settings",
    "SimContact",
    "SimulationResult",
    "Status",
    "Step",
    "Transition",
    "UpdateConsent",
    "UpdateList",
    "UpdateProfile",
    "advance",
    "entries_for_event",
    "entry_nodes",
    "facts_needed",
    "in_holdout",
    "journey_schema",
    "library",
    "may_enter",
    "next_run",
    "parse",
    "simulate",
    "stable_draw",
    "start",
    "validate",
    "write_schema",
]
