"""The documented context: builders, sample, and the reference table in docs/templates.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from templates import build_context, sample_context
from templates.context import CONTEXT, reference_markdown

DOC = Path(__file__).parents[2] / "docs" / "templates.md"


def test_docs_list_every_documented_variable() -> None:
    assert reference_markdown() in DOC.read_text(encoding="utf-8"), (
        "paste templates.context.reference_markdown() into docs/templates.md"
    )


def test_build_context_fills_every_documented_name_and_field() -> None:
    context = build_context(
        {"first_name": "Ada", "unknown": 1}, now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for variable in CONTEXT:
        assert variable.name in context
        value = context[variable.name]
        if variable.kind == "object" and value is not None:
            assert isinstance(value, dict)
            assert set(value) == {field.name for field in variable.fields}
    contact = context["contact"]
    assert isinstance(contact, dict)
    assert contact["first_name"] == "Ada"
    assert contact["last_name"] is None
    assert "unknown" not in contact
    assert context["offer"] is None
    assert context["products"] == []
    assert context["unsubscribe_url"] is None


def test_contact_attributes_accept_any_key() -> None:
    context = build_context({"attributes": {"tier": "gold"}})
    attributes = context["contact"]["attributes"]  # type: ignore[index]
    assert attributes["tier"] == "gold"
    assert attributes["anything"] is None


def test_build_context_keeps_only_documented_product_fields() -> None:
    context = build_context({}, products=[{"name": "Tent", "price": 99, "cost": 40}])
    assert context["products"] == [
        {"name": "Tent", "sku": None, "price": 99, "url": None, "image_url": None}
    ]


def test_sample_context_has_an_example_for_every_field() -> None:
    sample = sample_context()
    for variable in CONTEXT:
        if variable.kind == "object":
            fields = sample[variable.name]
            assert isinstance(fields, dict)
            assert all(fields[field.name] is not None for field in variable.fields), variable.name
        else:
            assert sample[variable.name], variable.name
