"""Ingest record formats (pydantic): what a contact, product, order, event or consent must hold."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


class Kind(StrEnum):
    """What a batch or file holds."""

    contacts = "contacts"
    products = "products"
    orders = "orders"
    events = "events"
    consents = "consents"


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _phone(value: str) -> str:
    value = re.sub(r"[\s().-]", "", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if not PHONE.match(value):
        raise ValueError(f"{value!r} is not an E.164 phone number (like +447700900123)")
    return value


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Paris)")
    return value


def _country(value: str) -> str:
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"{value!r} is not a two-letter ISO country code")
    return value


def _locale(value: str) -> str:
    if not LOCALE.match(value):
        raise ValueError(f"{value!r} is not a locale like en or en-GB")
    return value


def _refuse_null(value: Any) -> Any:
    # Optional on input but never stored empty: leaving the field out keeps the stored value.
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep the stored value")
    return value


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    if not _finite(value):
        raise ValueError("holds NaN or Infinity, which JSON cannot store")
    return value


def _aware(value: datetime) -> datetime:
    # Naive timestamps in files are read as UTC (documented in docs/ingest.md).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Country = Annotated[str, AfterValidator(_country)]
Locale = Annotated[str, AfterValidator(_locale)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
Key = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S(.*\S)?$")]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Name = Annotated[str, Field(max_length=100)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Record(BaseModel):
    """Base of every ingest record: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ContactRecord(Record):
    """A customer or prospect, upserted by `external_id`; absent fields are left as stored."""

    _not_null = field_validator("lifecycle_stage", "attributes", "created_at", mode="before")(
        classmethod(lambda cls, value: _refuse_null(value))
    )

    external_id: Key
    email: Email | None = None
    phone: Phone | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    birth_date: date | None = None
    gender: Literal["female", "male", "non_binary", "unknown"] | None = None
    city: Name | None = None
    region: Name | None = None
    country: Country | None = None
    postal_code: Annotated[str, Field(max_length=16)] | None = None
    time_zone: TimeZone | None = None
    locale: Locale | None = None
    household_income: Annotated[int, Field(ge=0)] | None = None
    education_level: (
        Literal["none", "primary", "secondary", "vocational", "bachelor", "master", "doctorate"]
        | None
    ) = None
    lifecycle_stage: (
        Literal["prospect", "lead", "customer", "repeat_customer", "lapsed", "churned"] | None
    ) = None
    source: Annotated[str, Field(max_length=64)] | None = None
    attributes: JsonObject | None = None
    created_at: Timestamp | None = None


class ProductRecord(Record):
    """A catalogue product, upserted by `sku`; `premium_sku` names its premium version."""

    _not_null = field_validator("attributes", mode="before")(
        classmethod(lambda cls, value: _refuse_null(value))
    )

    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(min_length=1, max_length=100)]
    price: Money
    unit_cost: Money | None = None
    tier: Literal["basic", "standard", "premium"] | None = None
    premium_sku: Sku | None = None
    active: bool = True
    attributes: JsonObject | None = None

    @model_validator(mode="after")
    def _not_its_own_premium(self) -> ProductRecord:
        if self.premium_sku == self.sku:
            raise ValueError("premium_sku cannot be the product itself")
        return self


class OrderLineRecord(Record):
    """One product on an order; `unit_cost` defaults to the product's unit cost."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000)] = 1
    unit_price: Money
    unit_cost: Money | None = None


class OrderRecord(Record):
    """A purchase by a known contact, upserted by `order_id` (its lines are replaced)."""

    order_id: Key
    contact_id: Key
    ordered_at: Timestamp
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    campaign_code: Annotated[str, Field(max_length=64)] | None = None
    channel: Annotated[str, Field(max_length=32)] | None = None
    lines: Annotated[list[OrderLineRecord], Field(min_length=1, max_length=1000)]


class EventRecord(Record):
    """Something a contact or anonymous visitor did; `event_id` makes re-sends idempotent."""

    event_id: Key | None = None
    contact_id: Key | None = None
    anonymous_id: Key | None = None
    type: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.:-]*$")]
    occurred_at: Timestamp
    source: Literal["web", "app", "custom", "store", "email", "sms", "social"] = "custom"
    properties: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _someone_did_it(self) -> EventRecord:
        if self.contact_id is None and self.anonymous_id is None:
            raise ValueError("give contact_id or anonymous_id")
        return self


class ConsentRecord(Record):
    """A consent statement for one contact, channel and purpose at a moment."""

    contact_id: Key
    channel: Literal["email", "sms", "social", "web"]
    purpose: Annotated[str, Field(min_length=1, max_length=32)] = "marketing"
    state: Literal["opted_in", "opted_out", "unknown"]
    source: Annotated[str, Field(max_length=64)] | None = None
    occurred_at: Timestamp | None = None


RECORD_TYPES: dict[Kind, type[Record]] = {
    Kind.contacts: ContactRecord,
    Kind.products: ProductRecord,
    Kind.orders: OrderRecord,
    Kind.events: EventRecord,
    Kind.consents: ConsentRecord,
}
