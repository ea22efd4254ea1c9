"""Template filters: money, local dates and times across DST, and fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from templates import MessageSource, render, sample_context
from templates.filters import fallback, localdate, localtime, money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (1234.5, "USD", "$1,234.50"),
        (12, "EUR", "€12.00"),
        ("3.99", "GBP", "£3.99"),
        (Decimal("1234.5"), "XYZ", "1,234.50 XYZ"),
        (1234.5, "xyz", "1,234.50 XYZ"),
        (0.005, "USD", "$0.01"),
        (-5, "USD", "-$5.00"),
        (1000, "JPY", "¥1,000"),
        (1_000_000, None, "$1,000,000.00"),
        (None, "USD", ""),
        ("", "USD", ""),
    ],
)
def test_money_formats_amounts_with_currency(value: object, currency: str, expected: str) -> None:
    assert money(value, currency) == expected


def test_money_rejects_text_that_is_not_an_amount() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        money("cheap")


@pytest.mark.parametrize(
    ("value", "tz", "fmt", "expected"),
    [
        # Amsterdam leaves CET for CEST at 01:00 UTC on 29 March 2026.
        (
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            "Europe/Amsterdam",
            None,
            "29 Mar 2026 01:30 CET",
        ),
        (
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            "Europe/Amsterdam",
            None,
            "29 Mar 2026 03:30 CEST",
        ),
        # New York leaves EDT for EST at 06:00 UTC on 1 November 2026.
        (datetime(2026, 11, 1, 5, 30), "America/New_York", "%H:%M %Z", "01:30 EDT"),
        (datetime(2026, 11, 1, 6, 30), "America/New_York", "%H:%M %Z", "01:30 EST"),
        ("2026-07-01T12:00:00+00:00", "Asia/Tokyo", "%H:%M", "21:00"),
        ("2026-07-01T12:00:00", "Not/AZone", "%H:%M %Z", "12:00 UTC"),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), None, "%H:%M %Z", "12:00 UTC"),
        (None, "Europe/Paris", None, ""),
    ],
)
def test_localtime_converts_utc_to_the_contacts_zone(
    value: object, tz: str | None, fmt: str | None, expected: str
) -> None:
    assert (localtime(value, tz, fmt) if fmt else localtime(value, tz)) == expected


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "Europe/Amsterdam", "30 Mar 2026"),
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "America/Los_Angeles", "29 Mar 2026"),
        (date(1990, 12, 10), "Pacific/Auckland", "10 Dec 1990"),
        ("2026-12-31T23:30:00Z", "Pacific/Auckland", "01 Jan 2027"),
    ],
)
def test_localdate_is_the_calendar_date_in_the_contacts_zone(
    value: object, tz: str, expected: str
) -> None:
    assert localdate(value, tz) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "there"), ("", "there"), ("  ", "there"), ("Ada", "Ada"), (0, 0)],
)
def test_fallback_treats_empty_strings_as_missing(value: object, expected: object) -> None:
    assert fallback(value, "there") == expected


def test_filters_work_inside_templates() -> None:
    context = sample_context()
    source = MessageSource(
        "sms",
        "transactional",
        text=(
            "{{ 1234.5 | money('EUR') }} {{ now | localdate(contact.time_zone) }} "
            "{{ contact.attributes.nickname | fallback(contact.first_name) }}"
        ),
    )
    assert render(source, context).text == "€1,234.50 02 Nov 2026 Ada"
