"""The field catalogue: which profile fields and traits a segment may test, their kinds and ops."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from campaign_engine.models.traits import CHURN_RISKS, RFM_GROUPS

Kind = Literal["string", "enum", "number", "date", "datetime", "boolean"]

RELATIVE_OPS = ("within_last", "more_than_ago", "in_next")
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "string": (
        "eq", "ne", "in", "not_in", "contains", "starts_with", "ends_with", "is_set", "is_not_set",
    ),
    "enum": ("eq", "ne", "in", "not_in", "is_set", "is_not_set"),
    "number": (
        "eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "not_in", "is_set", "is_not_set",
    ),
    "date": (
        "eq", "ne", "lt", "lte", "gt", "gte", "between", *RELATIVE_OPS, "is_set", "is_not_set",
    ),
    "boolean": ("eq", "ne", "is_set", "is_not_set"),
}  # fmt: skip
OPS_BY_KIND["datetime"] = OPS_BY_KIND["date"]
ALL_OPS = tuple(dict.fromkeys(op for ops in OPS_BY_KIND.values() for op in ops))

CUSTOM_PREFIX = "attributes."
CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class Field:
    """One testable field: its kind, a label for the builder, and allowed values for enums."""

    name: str
    kind: Kind
    label: str
    choices: tuple[str, ...] = ()


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


PROFILE_FIELDS = _fields(
    Field("external_id", "string", "External id"),
    Field("email", "string", "Email"),
    Field("phone", "string", "Phone"),
    Field("first_name", "string", "First name"),
    Field("last_name", "string", "Last name"),
    Field("birth_date", "date", "Birth date"),
    Field("age", "number", "Age (years, from birth date)"),
    Field("gender", "enum", "Gender", ("female", "male", "non_binary", "unknown")),
    Field("city", "string", "City"),
    Field("region", "string", "Region"),
    Field("country", "string", "Country (ISO code)"),
    Field("postal_code", "string", "Postal code"),
    Field("time_zone", "string", "Time zone"),
    Field("locale", "string", "Locale"),
    Field("household_income", "number", "Household income"),
    Field("education_level", "string", "Education level"),
    Field(
        "lifecycle_stage",
        "enum",
        "Lifecycle stage",
        ("prospect", "customer", "repeat_customer", "lapsed"),
    ),
    Field("source", "string", "Source"),
    Field("created_at", "datetime", "Signed up"),
)

TRAIT_FIELDS = _fields(
    Field("recency_days", "number", "Days since last order"),
    Field("frequency", "number", "Orders in the last 365 days"),
    Field("monetary", "number", "Spend in the last 365 days"),
    Field("avg_order_value", "number", "Average order value"),
    Field("orders_total", "number", "Orders, all time"),
    Field("revenue_total", "number", "Spend, all time"),
    Field("first_order_at", "datetime", "First order"),
    Field("last_order_at", "datetime", "Last order"),
    Field("r_score", "number", "RFM recency score (1-5)"),
    Field("f_score", "number", "RFM frequency score (1-5)"),
    Field("m_score", "number", "RFM monetary score (1-5)"),
    Field("rfm_cell", "string", "RFM cell (e.g. 555)"),
    Field("rfm_group", "enum", "RFM group", RFM_GROUPS),
    Field("clv", "number", "Predicted CLV (next 12 months)"),
    Field("p_alive", "number", "Probability alive (0-1)"),
    Field("expected_purchases", "number", "Expected purchases (next 12 months)"),
    Field("churn_risk", "enum", "Churn risk", CHURN_RISKS),
)


def custom_field(name: str, value_kind: Kind | None) -> Field:
    """Return the field for a custom JSON attribute; its kind comes from the value compared."""
    return Field(name, value_kind or "string", name.removeprefix(CUSTOM_PREFIX))
