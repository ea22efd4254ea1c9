"""Display helpers the admin templates call: timestamps, money, percentages, attribute values."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any


def format_when(value: datetime | date | None) -> str:
    """Format a timestamp (UTC) or a date for display."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def format_money(value: float | None) -> str:
    """Format an amount with two decimals and thousands separators."""
    return "" if value is None else f"{value:,.2f}"


def last_day(until: datetime | None) -> str:
    """Return the ISO date of the last day a period ending (excluded) at `until` includes."""
    return "" if until is None else (until - timedelta(microseconds=1)).date().isoformat()


def format_percent(value: float | None) -> str:
    """Format a share (0.125) as a percentage (12.5%); a missing one as a dash."""
    return "—" if value is None else f"{value:.1%}"


def format_value(value: Any) -> str:
    """Format an attribute or property value: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
