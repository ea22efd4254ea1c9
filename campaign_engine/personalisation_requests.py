"""What a storefront may ask the personalisation API: request bodies and query, with hard caps."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campaign_engine.errors import InvalidInput, InvalidQuery, PayloadTooLarge, Problem
from campaign_engine.ingest.batch import problems_of

MAX_BODY_BYTES = 16_384
MAX_BASKET = 50
MAX_SLOTS = 10
MAX_K = 20
MAX_LOOKUP_SKUS = 20
SLOT_TYPES = ("offers", "cross_sell", "up_sell", "category_gap", "recommendations", "content")
LOOKUP_KINDS = ("cross_sell", "up_sell", "category_gap", "all")
PAGE_TYPES = ("home", "product", "category", "cart", "checkout", "search", "account", "other")

Key = Annotated[str, Field(min_length=1, max_length=128)]
Sku = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    """Refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(Strict):
    """Where the visitor is: the page type and, on product or category pages, which one."""

    type: Literal[PAGE_TYPES] = "other"  # type: ignore[valid-type]
    sku: Sku | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class Slot(Strict):
    """A named place on the page and what fills it: offers, products of a kind, or content."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    type: Literal[SLOT_TYPES]  # type: ignore[valid-type]
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 3


class PersonaliseRequest(Strict):
    """One storefront page view: who (contact, visitor or nobody), where, the basket, the slots.

    `contact_id` is the contact's external id and `visitor_id` the storefront's anonymous
    cookie id. `personalisation: false` (say, no cookie consent) asks for the non-personal
    answer even when the contact has consented.
    """

    contact_id: Key | None = None
    visitor_id: Key | None = None
    page: Page = Field(default_factory=Page)
    basket: Annotated[list[Sku], Field(max_length=MAX_BASKET)] = Field(default_factory=list)
    slots: Annotated[list[Slot], Field(min_length=1, max_length=MAX_SLOTS)]
    personalisation: bool = True

    @model_validator(mode="after")
    def _unique_slot_names(self) -> PersonaliseRequest:
        names = [slot.name for slot in self.slots]
        if len(set(names)) != len(names):
            raise ValueError("slot names must be unique")
        return self


class ClickRequest(Strict):
    """A visitor clicked an item of an answer: which impression, which product, in which slot."""

    impression_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    sku: Sku
    slot: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class LookupQuery(Strict):
    """GET /recommendations: products (SKUs) or a contact, the kind, and how many."""

    sku: Annotated[list[Sku], Field(max_length=MAX_LOOKUP_SKUS)] = Field(default_factory=list)
    contact_id: Key | None = None
    kind: Literal[LOOKUP_KINDS] = "all"  # type: ignore[valid-type]
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 5

    @model_validator(mode="after")
    def _something_to_look_up(self) -> LookupQuery:
        if not self.sku and self.contact_id is None:
            raise ValueError("give sku (one or more) or contact_id")
        return self


def parse_body(model: type[Strict], raw: bytes, length: int | None) -> Any:
    """Validate a JSON body against `model`; raise a 4xx DomainError naming what is wrong."""
    if (length is not None and length > MAX_BODY_BYTES) or len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the body is larger than {MAX_BODY_BYTES:,} bytes",
            [Problem("body", f"at most {MAX_BODY_BYTES:,} bytes")],
        )
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput(
            "the body is not valid JSON", [Problem("body", "malformed JSON")]
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            "the body must be a JSON object", [Problem("body", f"got {type(data).__name__}")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput("the request body is invalid", problems_of(error)) from None


def parse_query(args: Mapping[str, Sequence[str]]) -> LookupQuery:
    """Validate the query of GET /recommendations (sku may repeat or be comma-separated)."""
    known = {"sku", "contact_id", "kind", "k"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidQuery(
            "unknown query parameters",
            [Problem(name, f"not a parameter; use {', '.join(sorted(known))}") for name in unknown],
        )
    data: dict[str, Any] = {
        "sku": [s.strip() for value in args.get("sku", ()) for s in value.split(",") if s.strip()]
    }
    for name in ("contact_id", "kind", "k"):
        values = args.get(name, ())
        if len(values) > 1:
            raise InvalidQuery("a parameter is repeated", [Problem(name, "give it once")])
        if values:
            data[name] = values[0]
    try:
        return LookupQuery.model_validate(data)
    except ValidationError as error:
        raise InvalidQuery("the query is invalid", problems_of(error)) from None
