"""The documented template context: every variable a template may use, with builders for it.

The description here is the single source for validation (which names and fields exist), for
the sample context used by previews and validation, and for the reference table in the docs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from templates.recommendations import (
    ITEM_FIELDS,
    SAMPLE,
    SIGNATURE,
    Recommendations,
    RecommendationSource,
    sample_recommendations,
)

Kind = Literal["value", "object", "mapping", "list", "function"]


@dataclass(frozen=True, slots=True)
class Variable:
    """One documented variable or field.

    `object` has the fixed `fields`; `mapping` takes any key (each missing key is empty);
    `list` holds items with the `fields`; a `function` returns such a list. A `value` is
    shown as-is.
    """

    name: str
    description: str
    example: object = None
    kind: Kind = "value"
    fields: tuple[Variable, ...] = ()

    def field(self, name: str) -> Variable | None:
        """Return the field called `name`, or None when it is not documented."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None


class Attributes(dict[str, object]):
    """A contact's free-form attributes: a key the contact lacks reads as empty, not an error."""

    def __missing__(self, key: str) -> None:
        return None


def _value(name: str, description: str, example: object) -> Variable:
    return Variable(name, description, example)


CONTACT = Variable(
    "contact",
    "the recipient",
    kind="object",
    fields=(
        _value("first_name", "first name; may be empty", "Ada"),
        _value("last_name", "last name; may be empty", "Lovelace"),
        _value("email", "email address", "ada@example.com"),
        _value("phone", "phone number in E.164 form", "+15035550123"),
        _value("city", "city", "Portland"),
        _value("region", "state, province or region", "OR"),
        _value("country", "ISO 3166 country code", "US"),
        _value("postal_code", "postal code", "97201"),
        _value(
            "time_zone", "IANA time zone, for `localdate` and `localtime`", "America/Los_Angeles"
        ),
        _value("locale", "preferred language and region", "en-US"),
        _value("lifecycle_stage", "prospect, customer, repeat, lapsed ...", "customer"),
        _value("birth_date", "date of birth; may be empty", date(1990, 12, 10)),
        Variable(
            "attributes",
            "free-form attributes imported with the contact; any key, empty when absent",
            {"favourite_category": "Outdoor", "loyalty_tier": "Gold"},
            kind="mapping",
        ),
        _value("external_id", "the contact's id in the store or CRM", "C-1001"),
    ),
)

TRAITS = Variable(
    "traits",
    "computed traits of the recipient; each may be empty",
    kind="object",
    fields=(
        _value("rfm_cell", "recency, frequency and monetary scores, 1-5 each", "545"),
        _value("rfm_group", "named RFM group such as champions or at_risk", "champions"),
        _value("clv", "predicted customer lifetime value (expected revenue)", 412.5),
        _value("churn_risk", "high, medium or low", "low"),
        _value("recency_days", "days since the last order", 12),
        _value("frequency", "orders in the RFM window", 7),
        _value("monetary", "spend in the RFM window", 412.3),
    ),
)

CAMPAIGN = Variable(
    "campaign",
    "the campaign sending the message",
    kind="object",
    fields=(
        _value("name", "campaign name", "Autumn picks"),
        _value("code", "campaign code carried by orders", "AUT26"),
        _value(
            "type",
            "acquisition, retention, cross_sell, up_sell, win_back or newsletter",
            "cross_sell",
        ),
    ),
)

SENDER = Variable(
    "sender",
    "who sends the message",
    kind="object",
    fields=(
        _value("name", "sender name", "Northwind Outfitters"),
        _value("email", "sender email address", "hello@northwind.example"),
        _value(
            "postal_address",
            "sender's postal address; required in marketing email",
            "Northwind Outfitters, 1200 NW Everett St, Portland, OR 97209, USA",
        ),
    ),
)

OFFER = Variable(
    "offer",
    "the personalised offer; empty when there is none",
    kind="object",
    fields=(
        _value("code", "voucher code", "AUTUMN15"),
        _value("title", "headline", "15% off your next order"),
        _value(
            "description", "one or two sentences", "Use it on anything in store, sale items too."
        ),
        _value("discount", "discount as shown, e.g. 15% or $10", "15%"),
        _value("expires_at", "UTC expiry time", datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
        _value("url", "where to redeem it", "https://shop.example/offers/AUTUMN15"),
    ),
)

PRODUCTS = Variable(
    "products",
    "recommended products; may be an empty list",
    [
        {
            "name": "Trail Runner 2",
            "sku": "TR2-42",
            "price": 129.0,
            "url": "https://shop.example/p/TR2-42",
            "image_url": "https://shop.example/img/TR2-42.jpg",
        },
        {
            "name": "Merino Crew Socks",
            "sku": "MCS-3P",
            "price": 24.5,
            "url": "https://shop.example/p/MCS-3P",
            "image_url": "https://shop.example/img/MCS-3P.jpg",
        },
    ],
    kind="list",
    fields=(
        _value("name", "product name", "Trail Runner 2"),
        _value("sku", "stock-keeping unit", "TR2-42"),
        _value("price", "price, for `money`", 129.0),
        _value("url", "product page", "https://shop.example/p/TR2-42"),
        _value("image_url", "product image", "https://shop.example/img/TR2-42.jpg"),
    ),
)

_ITEM_DESCRIPTIONS = {
    "name": "product name",
    "sku": "stock-keeping unit",
    "category": "product category",
    "price": "price, for `money`",
    "url": "product page, when the catalogue has one (the product's `url` attribute)",
    "image_url": "product image, when the catalogue has one (the `image_url` attribute)",
    "reason": "why, for the marketer: the rule or catalogue link behind it",
    "kind": "cross_sell, up_sell or category_gap",
}
RECOMMENDATIONS = Variable(
    "recommendations",
    f"`{SIGNATURE}`: this recipient's recommended products of `kind` (cross_sell, up_sell,"
    " category_gap or all), at most `k` (1-10), best first; an empty list when there are none",
    kind="function",
    fields=tuple(
        _value(name, _ITEM_DESCRIPTIONS[name], SAMPLE["cross_sell"][0][name])
        for name in ITEM_FIELDS
    ),
)

LINK_NAMES = ("unsubscribe_url", "preferences_url", "view_in_browser_url", "unsubscribe_mailto")

CONTEXT: tuple[Variable, ...] = (
    CONTACT,
    TRAITS,
    CAMPAIGN,
    SENDER,
    _value(
        "unsubscribe_url",
        "one-click unsubscribe link; required in marketing email",
        "https://t.example/u/abc123",
    ),
    _value("preferences_url", "email preferences page", "https://t.example/p/abc123"),
    _value("view_in_browser_url", "web copy of the message", "https://t.example/v/abc123"),
    _value(
        "unsubscribe_mailto",
        "mailbox for List-Unsubscribe mailto; may be empty",
        "unsubscribe@northwind.example",
    ),
    OFFER,
    PRODUCTS,
    RECOMMENDATIONS,
    _value("now", "UTC time of rendering", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
)

VARIABLES: dict[str, Variable] = {variable.name: variable for variable in CONTEXT}


def _example(variable: Variable) -> object:
    if variable.kind == "object":
        return {field.name: _example(field) for field in variable.fields}
    if variable.kind == "mapping":
        return Attributes(variable.example if isinstance(variable.example, Mapping) else {})
    if variable.kind == "list" and isinstance(variable.example, list):
        return [dict(item) for item in variable.example]
    if variable.kind == "function":
        return sample_recommendations()
    return variable.example


def _object(variable: Variable, given: Mapping[str, object] | None) -> dict[str, object]:
    """Return every documented field of `variable` from `given`, missing ones as None."""
    given = given or {}
    result: dict[str, object] = {}
    for field in variable.fields:
        value = given.get(field.name)
        if field.kind == "mapping":
            value = Attributes(value if isinstance(value, Mapping) else {})
        result[field.name] = value
    return result


def build_context(
    contact: Mapping[str, object],
    *,
    traits: Mapping[str, object] | None = None,
    campaign: Mapping[str, object] | None = None,
    sender: Mapping[str, object] | None = None,
    links: Mapping[str, str | None] | None = None,
    offer: Mapping[str, object] | None = None,
    products: Sequence[Mapping[str, object]] | None = None,
    recommendations: RecommendationSource | None = None,
    now: datetime | None = None,
) -> dict[str, object]:
    """Return the render context for one recipient from plain mappings.

    Every documented name and field is present, missing ones as None, so StrictUndefined
    only fires on names that are not documented. `offer` stays None when there is no offer,
    so templates can write `{% if offer %}`. `links` holds the URL variables by name.
    `recommendations` answers the template's `recommendations(kind, k)` calls for this
    recipient; without it they return empty lists.
    """
    links = links or {}
    context: dict[str, object] = {
        "contact": _object(CONTACT, contact),
        "traits": _object(TRAITS, traits),
        "campaign": _object(CAMPAIGN, campaign),
        "sender": _object(SENDER, sender),
        "offer": _object(OFFER, offer) if offer else None,
        "products": [_object(PRODUCTS, product) for product in products or ()],
        "recommendations": Recommendations(recommendations),
        "now": now or datetime.now(UTC),
    }
    for name in LINK_NAMES:
        context[name] = links.get(name)
    return context


def sample_context() -> dict[str, object]:
    """Return a complete context built from the documented examples, for previews and checks."""
    return {variable.name: _example(variable) for variable in CONTEXT}


def sparse_context() -> dict[str, object]:
    """Return a context where every optional value is missing: a contact nothing is known of."""
    sample = sample_context()
    return {
        **build_context({}),
        "campaign": sample["campaign"],
        "sender": sample["sender"],
        "unsubscribe_url": sample["unsubscribe_url"],
        "now": sample["now"],
    }


def reference_markdown() -> str:
    """Return the context reference as a Markdown table, as published in docs/templates.md."""
    rows = ["| variable | description | example |", "|---|---|---|"]
    for variable in CONTEXT:
        rows.append(_row(f"`{variable.name}`", variable, variable.kind != "value"))
        joiner = {"list": "[].", "function": "()[]."}.get(variable.kind, ".")
        for field in variable.fields:
            star = ".*" if field.kind == "mapping" else ""
            rows.append(_row(f"`{variable.name}{joiner}{field.name}{star}`", field, False))
    return "\n".join(rows) + "\n"


def _row(path: str, variable: Variable, container: bool) -> str:
    example = "" if container else _format_example(variable.example)
    if variable.kind == "mapping" and isinstance(variable.example, Mapping):
        example = ", ".join(f"{key}: {value}" for key, value in variable.example.items())
    return f"| {path} | {variable.description} | {example} |"


def _format_example(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)
