"""Journey definitions as data: JSON round trips, the published schema, stored tag names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from journeys import EnrollmentState, journey_schema, library, parse, write_schema
from journeys.nodes import NODE_TAGS

SCHEMA = Path(__file__).parents[2] / "docs" / "journey-definition.schema.json"


def test_docs_schema_is_the_models_schema(tmp_path: Path) -> None:
    published = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert published == journey_schema(), (
        'regenerate it: python -c "from journeys import write_schema; '
        "write_schema('docs/journey-definition.schema.json')\""
    )
    write_schema(tmp_path / "schema.json")
    assert (tmp_path / "schema.json").read_text(encoding="utf-8") == SCHEMA.read_text("utf-8")


def test_stored_tag_names_never_change() -> None:
    assert NODE_TAGS == (
        "entry_segment", "entry_event", "entry_recurring", "entry_api", "send", "delay",
        "wait_until_time", "wait_until_date", "wait_for_event", "wait_for_segment",
        "wait_for_engagement", "condition_split", "random_split", "uplift_split",
        "update_profile", "update_consent", "update_list", "webhook", "goal", "exit",
    )  # fmt: skip
    mapping = journey_schema()["properties"]["nodes"]["items"]["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(NODE_TAGS)


def test_a_definition_round_trips_through_json_with_else_spelt_as_stored() -> None:
    data = {
        "version": 1,
        "name": "Split",
        "nodes": [
            {"id": "in", "type": "entry_event", "event_type": "signed_up", "next": "s",
             "position": {"x": 10, "y": 20}, "label": "Signed up"},
            {"id": "s", "type": "condition_split", "else": "x", "branches": [
                {"name": "fr", "next": "x", "conditions": [
                    {"type": "attribute", "attribute": "country", "op": "eq", "value": "FR"}]}]},
            {"id": "x", "type": "exit"},
        ],
    }  # fmt: skip
    definition = parse(data)
    stored = definition.to_json()
    assert stored["nodes"][1]["else"] == "x"
    assert parse(json.loads(json.dumps(stored))) == definition
    assert stored["nodes"][0]["position"] == {"x": 10.0, "y": 20.0}


def test_every_library_journey_round_trips() -> None:
    for journey in library().values():
        ids = {r.name: i + 1 for i, r in enumerate(journey.requires)}
        templates = {r.name: ids[r.name] for r in journey.requires if r.kind == "template"}
        segments = {r.name: ids[r.name] for r in journey.requires if r.kind == "segment"}
        definition = parse(journey.install(templates=templates, segments=segments))
        assert parse(json.loads(json.dumps(definition.to_json()))) == definition


def test_enrollment_state_round_trips_through_json() -> None:
    state = EnrollmentState(
        node_id="w",
        entered_at=datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        enrolled_at=datetime(2025, 3, 29, tzinfo=UTC),
        hops=4,
        data={"ab": {"draw": 0.25}, "w": {"until": "2025-04-01T00:00:00+00:00"}},
        sent=frozenset({"m1", "m2"}),
    )
    stored = json.loads(json.dumps(state.to_json()))
    assert stored["sent"] == ["m1", "m2"]
    assert EnrollmentState.from_json(stored) == state
