"""Example segments from the docs, ready to save: the demo seeds them and the tests run them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.models import Segment, UpliftModel
from campaign_engine.segments.definition import parse_definition, walk
from campaign_engine.segments.service import create_segment
from campaign_engine.segments.uplift import UpliftCondition


def _segment(*children: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "root": {"type": "all", "children": list(children)}}


EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "List generator: affluent graduates aged 30-55": (
        "Household income of at least 80,000, a bachelor's degree or higher, aged 30 to 55.",
        _segment(
            {"type": "attribute", "field": "household_income", "op": "gte", "value": 80000},
            {
                "type": "attribute",
                "field": "education_level",
                "op": "in",
                "value": ["bachelor", "master", "doctorate"],
            },
            {"type": "attribute", "field": "age", "op": "between", "value": [30, 55]},
        ),
    ),
    "Best customers (RFM champions)": (
        "Bought recently and often: RFM group champions, reachable by email.",
        _segment(
            {"type": "trait", "field": "rfm_group", "op": "eq", "value": "champions"},
            {"type": "consent", "channel": "email", "state": "opted_in"},
        ),
    ),
    "At-risk high-value customers": (
        "Valuable customers slipping away: RFM group at risk or can't lose, or a high churn "
        "risk, and at least 200 spent in total.",
        _segment(
            {
                "type": "any",
                "children": [
                    {
                        "type": "trait",
                        "field": "rfm_group",
                        "op": "in",
                        "value": ["at_risk", "cant_lose"],
                    },
                    {"type": "trait", "field": "churn_risk", "op": "eq", "value": "high"},
                ],
            },
            {"type": "trait", "field": "revenue_total", "op": "gte", "value": 200},
        ),
    ),
    "Software buyers who never bought a computer": (
        "The category-gap cross-sell audience: software at least twice, computers never.",
        _segment(
            {"type": "purchase", "category": "software", "at_least": 2},
            {"type": "purchase", "category": "computers", "at_most": 0},
            {"type": "not", "child": {"type": "suppressed", "channel": "email"}},
        ),
    ),
    "Persuadable by the demo offer (top 20% by uplift)": (
        "Those the past email offer persuades most: in the top 20% by predicted uplift under "
        "the demo's demo-offer model, with a positive uplift, and reachable by email. Saved "
        "once that model exists.",
        _segment(
            {
                "type": "uplift",
                "model": "demo-offer",
                "percentile": {"op": "lt", "value": 0.2},
                "score": {"op": "gt", "value": 0},
            },
            {"type": "consent", "channel": "email", "state": "opted_in"},
        ),
    ),
}


def models_needed(definition: dict[str, Any]) -> set[str]:
    """Return the names of the uplift models a definition's conditions read."""
    root = parse_definition(definition).root
    return {node.model for _, node in walk(root) if isinstance(node, UpliftCondition)}


def save_examples(session: Session, created_by: str | None = None) -> int:
    """Save every example segment that does not exist yet; return how many were saved.

    An example reading an uplift model waits until a model of that name exists.
    """
    existing = set(session.scalars(select(Segment.name)))
    models = set(session.scalars(select(UpliftModel.name)))
    saved = 0
    for name, (description, definition) in EXAMPLES.items():
        if name not in existing and models_needed(definition) <= models:
            create_segment(
                session,
                name=name,
                description=description,
                definition=definition,
                created_by=created_by,
            )
            saved += 1
    return saved
