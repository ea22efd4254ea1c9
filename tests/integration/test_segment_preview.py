"""Previews: count, sample and funnel agree with plain counts for every shape of root."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import MAX_FUNNEL_STEPS, count_members, preview_segment
from tests.factories import make_contact

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def income_at_least(value: int) -> dict[str, Any]:
    return {"type": "attribute", "field": "household_income", "op": "gte", "value": value}


def city(name: str) -> dict[str, Any]:
    return {"type": "attribute", "field": "city", "op": "eq", "value": name}


ROOTS = {
    "single": income_at_least(50_000),
    "all": {"type": "all", "children": [income_at_least(30_000), city("Leeds")]},
    "any": {"type": "any", "children": [city("York"), city("Leeds"), income_at_least(90_000)]},
    "not": {"type": "not", "child": city("Leeds")},
    "wide": {
        "type": "all",
        "children": [income_at_least(1_000 * i) for i in range(MAX_FUNNEL_STEPS + 3)],
    },
    "empty": {"type": "all", "children": [city("Atlantis")]},
}


@pytest.mark.parametrize("shape", list(ROOTS))
def test_preview_matches_a_plain_count(engine: Engine, shape: str) -> None:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        for n in range(30):
            make_contact(
                session,
                household_income=None if n % 7 == 0 else n * 3_500,
                city=("Leeds", "York", "Bath")[n % 3],
            )
    definition = {"version": 1, "root": ROOTS[shape]}
    with transaction(sessions) as session:
        preview = preview_segment(session, definition, NOW, sample_size=5)
        expected = count_members(session, parse_definition(definition), NOW)
    assert preview.count == expected
    assert len(preview.sample) == min(5, expected)
    assert [row["id"] for row in preview.sample] == sorted(row["id"] for row in preview.sample)
    root = ROOTS[shape]
    children = root.get("children", [root])
    assert len(preview.funnel) == min(len(children), MAX_FUNNEL_STEPS)
    with transaction(sessions) as session:
        for step in preview.funnel:
            index = int(step.path.split("[")[1].rstrip("]")) if "[" in step.path else 0
            alone = count_members(
                session, parse_definition({"version": 1, "root": children[index]}), NOW
            )
            assert step.alone == alone, step
    if len(children) <= MAX_FUNNEL_STEPS and root["type"] in ("all", "any"):
        assert preview.funnel[-1].cumulative == expected
        cumulative = [step.cumulative for step in preview.funnel]
        if root["type"] == "all":
            assert cumulative == sorted(cumulative, reverse=True)
        else:
            assert cumulative == sorted(cumulative)
