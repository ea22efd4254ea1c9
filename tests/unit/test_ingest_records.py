"""Ingest record validation and CSV reading, without a database."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from campaign_engine.ingest.batch import field_path, parse_batch, parse_record
from campaign_engine.ingest.reading import CsvColumns, read_csv, read_jsonl
from campaign_engine.ingest.records import ContactRecord, Kind


def test_field_path_renders_nested_locations() -> None:
    assert field_path(("lines", 0, "sku")) == "lines[0].sku"
    assert field_path(("email",)) == "email"


def test_contact_is_normalised() -> None:
    record = parse_record(
        Kind.contacts,
        {
            "external_id": " C1 ",
            "email": " Ann@Example.COM",
            "phone": "+44 7700 900123",
            "country": "gb",
        },
    )
    assert isinstance(record, ContactRecord)
    assert (record.external_id, record.email, record.phone, record.country) == (
        "C1",
        "ann@example.com",
        "+447700900123",
        "GB",
    )


@pytest.mark.parametrize(
    ("raw", "location", "fragment"),
    [
        ({"external_id": "C1", "email": "nope"}, "email", "not an email address"),
        ({"external_id": "C1", "phone": "12"}, "phone", "E.164"),
        ({"external_id": "C1", "time_zone": "Mars/Base"}, "time_zone", "unknown time zone"),
        ({"external_id": "C1", "household_income": "lots"}, "household_income", "valid integer"),
        ({"external_id": "C1", "favourite": "x"}, "favourite", "unknown field"),
        ({"email": "a@b.co"}, "external_id", "is required"),
    ],
)
def test_invalid_contact_names_field_and_reason(
    raw: dict[str, str], location: str, fragment: str
) -> None:
    problems = parse_record(Kind.contacts, raw)
    assert isinstance(problems, list)
    assert [p.location for p in problems] == [location]
    assert fragment in problems[0].message


def test_order_line_problems_point_into_lines() -> None:
    problems = parse_record(
        Kind.orders,
        {
            "order_id": "O1",
            "contact_id": "C1",
            "ordered_at": "2024-01-01",
            "lines": [{"sku": "A", "unit_price": -1}],
        },
    )
    assert isinstance(problems, list)
    assert [p.location for p in problems] == ["lines[0].unit_price"]


def test_naive_timestamps_are_read_as_utc() -> None:
    record = parse_record(
        Kind.events, {"contact_id": "C1", "type": "page_view", "occurred_at": "2024-03-01T10:00:00"}
    )
    assert not isinstance(record, list)
    assert record.occurred_at == datetime(2024, 3, 1, 10, tzinfo=UTC)  # type: ignore[attr-defined]


def test_event_needs_someone() -> None:
    problems = parse_record(
        Kind.events, {"type": "page_view", "occurred_at": "2024-03-01T10:00:00Z"}
    )
    assert isinstance(problems, list)
    assert "contact_id or anonymous_id" in problems[0].message


def test_parse_batch_keeps_positions() -> None:
    valid, rejected = parse_batch(
        Kind.contacts, [{"external_id": "A"}, "text", {"external_id": ""}]
    )
    assert [i for i, _ in valid] == [0]
    assert [r.index for r in rejected] == [1, 2]


def test_csv_cells_empty_absent_dotted_nested_json_parsed() -> None:
    header = ["external_id", "email", "attributes.tier", "attributes.points", "properties"]
    raw, problems = CsvColumns(header).raw(["C1", "", "gold", "120", "{"])
    assert raw == {
        "external_id": "C1",
        "attributes": {"tier": "gold", "points": 120},
        "properties": None,
    }
    assert [p.location for p in problems] == ["properties"]


def test_csv_order_rows_group_into_one_order_with_line_numbers() -> None:
    text = (
        "order_id,contact_id,ordered_at,sku,quantity,unit_price\n"
        "O1,C1,2024-01-01,A,1,10\n"
        "O1,C1,2024-01-01,B,2,5\n"
        "O2,C1,2024-01-02,A,1,10\n"
        "O1,C1,2024-01-01,C,1,1\n"
    )
    rows = list(read_csv(io.StringIO(text), Kind.orders))
    assert [r.lines for r in rows] == [[2, 3], [4], [5]]
    assert [line["sku"] for line in rows[0].raw["lines"]] == ["A", "B"]
    assert rows[2].problems and "next to each other" in rows[2].problems[0].message


def test_jsonl_reports_bad_json_by_line() -> None:
    rows = list(read_jsonl(io.StringIO('{"external_id": "A"}\n\n{bad\n')))
    assert [r.lines for r in rows] == [[1], [3]]
    assert rows[1].problems and "invalid JSON" in rows[1].problems[0].message


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), [1.0, float("-inf")], {"deep": float("nan")}]
)
def test_json_fields_refuse_nan_and_infinity(bad: object) -> None:
    problems = parse_record(
        Kind.events,
        {"anonymous_id": "v1", "type": "x", "occurred_at": "2024-01-01", "properties": {"v": bad}},
    )
    assert isinstance(problems, list)
    assert problems[0].location == "properties" and "NaN or Infinity" in problems[0].message
