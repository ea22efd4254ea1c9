"""Template filters: money, local dates and times in the contact's time zone, and fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Undefined

# currency code → (symbol, decimals); other codes print as "1,234.50 XYZ".
CURRENCIES: dict[str, tuple[str, int]] = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
    "CNY": ("CN¥", 2),
    "INR": ("₹", 2),
    "AUD": ("A$", 2),
    "CAD": ("CA$", 2),
    "NZD": ("NZ$", 2),
    "BRL": ("R$", 2),
    "MXN": ("MX$", 2),
    "KRW": ("₩", 0),
}
DATE_FORMAT = "%d %b %Y"
TIME_FORMAT = "%d %b %Y %H:%M %Z"


def money(value: object, currency: str | None = "USD") -> str:
    """Format an amount with its currency symbol: 1234.5 → "$1,234.50"; empty stays empty."""
    if value is None or isinstance(value, Undefined) or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"money: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"money: {value!r} is not an amount")
    code = (currency or "USD").upper()
    symbol, decimals = CURRENCIES.get(code, ("", 2))
    rounded = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    digits = f"{abs(rounded):,.{decimals}f}"
    sign = "-" if rounded < 0 else ""
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"


@lru_cache(maxsize=1024)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone(name: object) -> tzinfo:
    """Return the IANA time zone called `name`, or UTC when it is empty or unknown."""
    if not isinstance(name, str) or not name:
        return UTC
    return _zone(name)


def _moment(value: object) -> datetime | date | None:
    """Return `value` as an aware UTC datetime (naive counts as UTC), a date, or None."""
    if value is None or isinstance(value, Undefined) or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date or time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    raise ValueError(f"{value!r} is not a date or time")


def localtime(value: object, tz: object = None, fmt: str = TIME_FORMAT) -> str:
    """Format a UTC time in the time zone `tz` (UTC when unknown); empty stays empty."""
    moment = _moment(value)
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone(tz))
    return moment.strftime(fmt)


def localdate(value: object, tz: object = None, fmt: str = DATE_FORMAT) -> str:
    """Format the calendar date of a UTC time in the time zone `tz`; a plain date as it is."""
    return localtime(value, tz, fmt)


def fallback(value: object, default: object = "") -> object:
    """Return `default` when `value` is undefined, None or an empty or blank string."""
    if value is None or isinstance(value, Undefined):
        return default
    if isinstance(value, str) and not value.strip():
        return default
    return value


FILTERS = {
    "money": money,
    "localdate": localdate,
    "localtime": localtime,
    "fallback": fallback,
}
