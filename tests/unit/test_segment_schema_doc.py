"""The published JSON Schema of segment definitions matches the models."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_engine.segments.definition import SegmentDefinition

SCHEMA = Path(__file__).parents[2] / "docs" / "segment-definition.schema.json"


def test_docs_schema_is_the_models_schema() -> None:
    published = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert published == SegmentDefinition.model_json_schema(), (
        "regenerate docs/segment-definition.schema.json from SegmentDefinition.model_json_schema()"
    )
