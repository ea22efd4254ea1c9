"""Display helpers the admin templates call: timestamps, money, attribute values."""

from __future__ import annotations

import json
from datetime import date, datetime
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


def format_value(value: Any) -> str:
    """Format an attribute or property value: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
