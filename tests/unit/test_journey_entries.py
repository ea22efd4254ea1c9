"""Joining a journey: entry steps, event filters, schedules, re-entry, holdout, facts needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from journeys import (
    Event,
    FactNeeds,
    JourneyError,
    Settings,
    entries_for_event,
    entry_nodes,
    facts_needed,
    in_holdout,
    may_enter,
    next_run,
    parse,
    start,
)
from journeys.nodes import Schedule

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

DEFINITION = parse(
    {
        "version": 1,
        "name": "Entries",
        "settings": {"exit_criteria": {"segment_ids": [90], "event_types": ["unsubscribed"]},
                     "holdout_percent": 20},
        "nodes": [
            {"id": "big", "type": "entry_event", "event_type": "purchase", "next": "split",
             "filters": [{"property": "total", "op": "gte", "value": 100}]},
            {"id": "any", "type": "entry_event", "event_type": "purchase", "next": "split"},
            {"id": "api", "type": "entry_api", "next": "split"},
            {"id": "split", "type": "condition_split", "else": "m", "branches": [
                {"next": "m", "conditions": [
                    {"type": "segment", "segment_id": 5},
                    {"type": "attribute", "attribute": "attributes.tier", "op": "exists"}]}]},
            {"id": "m", "type": "send", "channel": "email", "template_id": 1, "next": "w"},
            {"id": "w", "type": "wait_for_engagement", "send_node": "m", "action": "opened",
             "timeout": {"days": 2}, "matched": "date", "timed_out": "date"},
            {"id": "date", "type": "wait_until_date", "attribute": "birth_date", "yearly": True,
             "next": "u", "missing": "u"},
            {"id": "u", "type": "uplift_split", "mode": "threshold", "value": 0.1, "send": "seg",
             "skip": "x"},
            {"id": "seg", "type": "wait_for_segment", "segment_id": 6, "timeout": {"days": 1},
             "matched": "x", "timed_out": "x"},
            {"id": "x", "type": "exit"},
            {"id": "goal", "type": "goal", "event_type": "review_submitted"},
        ],
    }
)  # fmt: skip


def test_entry_nodes_and_start() -> None:
    assert [entry.id for entry in entry_nodes(DEFINITION)] == ["big", "any", "api"]
    state = start(DEFINITION, "api", T0)
    assert (state.node_id, state.entered_at, state.enrolled_at, state.hops) == ("api", T0, T0, 0)
    with pytest.raises(JourneyError):
        start(DEFINITION, "split", T0)


@pytest.mark.parametrize(
    ("event", "entries"),
    [
        (Event("purchase", T0, {"total": 150}), ["big", "any"]),
        (Event("purchase", T0, {"total": 20}), ["any"]),
        (Event("purchase", T0), ["any"]),
        (Event("refund", T0, {"total": 150}), []),
    ],
)
def test_event_entries_match_type_and_filters(event: Event, entries: list[str]) -> None:
    assert [entry.id for entry in entries_for_event(DEFINITION, event)] == entries


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ({"cron": "0 9 * * mon"}, "2025-01-06 08:00", "2025-01-06 09:00"),
        ({"cron": "0 9 * * mon"}, "2025-01-06 09:00", "2025-01-13 09:00"),
        ({"cron": "0 9 1 * *", "time_zone": "Europe/Paris"}, "2025-01-06 08:00",
         "2025-02-01 08:00"),
        ({"every_days": 7}, "2025-01-06 08:00", "2025-01-06 09:00"),  # 2024-01-01 is a Monday
        ({"every_days": 7}, "2025-01-06 09:00", "2025-01-13 09:00"),
        ({"every_days": 3, "starts_on": "2025-01-07", "at": "18:00"}, "2025-01-06 08:00",
         "2025-01-07 18:00"),
        ({"every_days": 3, "starts_on": "2025-01-07", "at": "18:00"}, "2025-01-07 18:00",
         "2025-01-10 18:00"),
        ({"every_days": 1, "at": "09:00", "time_zone": "America/New_York"}, "2025-03-08 15:00",
         "2025-03-09 13:00"),
    ],
)  # fmt: skip
def test_next_run_of_a_recurring_entry(schedule: dict[str, Any], after: str, expected: str) -> None:
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    wanted = datetime.fromisoformat(expected).replace(tzinfo=UTC)
    assert next_run(Schedule.model_validate(schedule), moment) == wanted


def test_every_days_counts_from_its_start_date() -> None:
    schedule = Schedule(every_days=14, starts_on=date(2025, 1, 1))
    runs = [next_run(schedule, T0)]
    runs.append(next_run(schedule, runs[0]))
    assert runs == [datetime(2025, 1, 15, 9, tzinfo=UTC), datetime(2025, 1, 29, 9, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("settings", "entries", "active", "last_days_ago", "allowed"),
    [
        ({}, 0, False, None, True),
        ({}, 1, False, 400, False),
        ({"reentry": "after_exit"}, 3, False, 1, True),
        ({"reentry": "after_exit"}, 3, True, 1, False),
        ({"reentry": "after_exit", "max_entries": 3}, 3, False, 1, False),
        ({"reentry": "cooldown", "cooldown_days": 30}, 1, True, 31, True),
        ({"reentry": "cooldown", "cooldown_days": 30}, 1, False, 29, False),
        ({"reentry": "cooldown", "cooldown_days": 30, "max_entries": 2}, 2, False, 90, False),
    ],
)
def test_reentry_rules(
    settings: dict[str, Any], entries: int, active: bool, last_days_ago: int | None, allowed: bool
) -> None:
    last = None if last_days_ago is None else T0 - timedelta(days=last_days_ago)
    rules = Settings.model_validate(settings)
    assert may_enter(rules, entries=entries, active=active, last_entered_at=last, now=T0) is allowed


def test_holdout_takes_a_stable_share_of_enrollments() -> None:
    held = [in_holdout(DEFINITION, f"enrollment-{i}") for i in range(4000)]
    assert held == [in_holdout(DEFINITION, f"enrollment-{i}") for i in range(4000)]
    assert abs(sum(held) / 4000 - 0.2) < 0.025
    no_holdout = parse({**DEFINITION.to_json(), "settings": {}})
    assert not any(in_holdout(no_holdout, f"enrollment-{i}") for i in range(500))


def test_facts_needed_covers_the_steps_ahead_and_the_journey_criteria() -> None:
    assert facts_needed(DEFINITION, "split") == FactNeeds(
        segment_ids=frozenset({5, 6, 90}),
        event_types=frozenset({"unsubscribed", "review_submitted"}),
        engagement_nodes=frozenset({"m"}),
        attributes=frozenset({"attributes.tier", "birth_date"}),
        time_zone=True,
        uplift=True,
    )
    assert facts_needed(DEFINITION, "seg") == FactNeeds(
        segment_ids=frozenset({6, 90}),
        event_types=frozenset({"unsubscribed", "review_submitted"}),
    )
    assert facts_needed(DEFINITION, "seg") is facts_needed(DEFINITION, "seg")  # cached
