"""Preview what a contact or a basket would be shown, and why: on the storefront and in messages.

The storefront part is `personalisation.personalise` itself, with one slot per kind (no
impression is recorded), so the preview and the storefront agree: consent, holdout, campaign
offers and ranking included. The messages part is what `recommendations(kind, k)` gives the
contact in a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, InvalidQuery, Problem
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import Contact
from campaign_engine.personalisation import personalise
from campaign_engine.personalisation_requests import MAX_K, PersonaliseRequest
from campaign_engine.recommend.messages import MessageRecommendations, purchase_histories
from campaign_engine.recommend.ruleset import get_rule_set, load_snapshot
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.recommend.snapshot import RuleSnapshot, SnapshotCache

# The storefront slots shown, in order: (slot type, heading).
SLOTS = (
    ("cross_sell", "Cross-sell"),
    ("up_sell", "Up-sell"),
    ("category_gap", "Category gaps"),
    ("recommendations", "Every kind, ranked together"),
    ("offers", "Offers"),
)
MESSAGE_KINDS = ("cross_sell", "up_sell", "category_gap")
HISTORY_SHOWN = 20
_SEPARATORS = re.compile(r"[\s,;]+")


class PreviewQuery(BaseModel):
    """Who or what to preview: a contact (id, email or external id), basket SKUs, how many."""

    model_config = ConfigDict(extra="ignore")

    contact: Annotated[str, Field(max_length=320)] | None = None
    basket: Annotated[str, Field(max_length=2000)] | None = None
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 5
    rule_set: Annotated[int, Field(ge=1)] | None = None

    @property
    def skus(self) -> list[str]:
        """Return the basket's SKUs, in the order typed, each once."""
        return list(dict.fromkeys(s for s in _SEPARATORS.split(self.basket or "") if s))

    @property
    def asked(self) -> bool:
        """Say whether there is anything to preview."""
        return bool(self.contact or self.skus)


def parse_preview_query(args: Mapping[str, str]) -> PreviewQuery:
    """Return the preview query of `args` (blank values count as absent) or raise InvalidQuery."""
    data = {key: value.strip() for key, value in args.items() if value.strip()}
    try:
        return PreviewQuery.model_validate(data)
    except ValidationError as error:
        raise InvalidQuery("the preview query is invalid", problems_of(error)) from None


@dataclass(frozen=True)
class PreviewContact:
    """The contact previewed and what it bought (latest orders, as recommendations read it)."""

    id: int
    external_id: str
    email: str | None
    name: str
    history: list[tuple[str, str, int]]  # name, SKU, order lines; the most bought first
    products: int  # distinct products bought, of which `history` shows the first ones


@dataclass(frozen=True)
class PreviewSlot:
    """One storefront slot of the answer: its heading and items (each with its reason)."""

    type: str
    title: str
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Preview:
    """The storefront's answer and the messages' recommendations for one contact or basket."""

    query: PreviewQuery
    rule_set: int | None
    active_rule_set: int | None
    mode: str
    why: str
    holdout: bool
    contact: PreviewContact | None
    basket: list[tuple[str, str]]  # SKU, name
    slots: list[PreviewSlot]
    messages: dict[str, list[dict[str, Any]]]


def preview(
    session: Session,
    rules: SnapshotCache,
    settings: RecommendSettings,
    query: PreviewQuery,
    now: datetime,
) -> Preview:
    """Answer `query` as the storefront and the message templates would; record nothing."""
    current = rules.get()
    snapshot = current
    if query.rule_set is not None and query.rule_set != current.version:
        get_rule_set(session, query.rule_set)
        snapshot = load_snapshot(session.connection(), query.rule_set)
    contact = find_contact(session, query.contact) if query.contact else None
    try:
        request = PersonaliseRequest.model_validate(
            {
                "contact_id": contact.external_id if contact else None,
                "basket": query.skus,
                "slots": [{"name": t, "type": t, "k": query.k} for t, _ in SLOTS],
            }
        )
    except ValidationError as error:
        raise InvalidInput("cannot preview this", problems_of(error)) from None
    answer, _impression = personalise(session, snapshot, settings, request, now)
    shown = None
    messages: dict[str, list[dict[str, Any]]] = {}
    if contact is not None:
        shown = _contact(session, contact, snapshot)
        batch = MessageRecommendations(seconds=0).batch(session, [contact.id], snapshot)
        messages = {kind: batch.items(contact.id, kind, query.k) for kind in MESSAGE_KINDS}
    return Preview(
        query=query,
        rule_set=snapshot.version,
        active_rule_set=current.version,
        mode=answer["mode"],
        why=answer["why"],
        holdout=answer["holdout"],
        contact=shown,
        basket=[(sku, snapshot.products[snapshot.by_sku[sku]].name) for sku in query.skus],
        slots=[PreviewSlot(t, title, answer["slots"][t]["items"]) for t, title in SLOTS],
        messages=messages,
    )


def find_contact(session: Session, text: str) -> Contact:
    """Return the contact a marketer typed: an id, an email or an external id."""
    text = text.strip()
    contact = None
    if text.isdigit() and len(text) < 19:
        contact = session.get(Contact, int(text))
    if contact is None and "@" in text:
        contact = session.scalars(
            select(Contact).where(func.lower(Contact.email) == text.lower()).order_by(Contact.id)
        ).first()
    if contact is None:
        contact = session.scalar(select(Contact).where(Contact.external_id == text))
    if contact is None:
        raise InvalidInput(
            "unknown contact",
            [Problem("contact", f"no contact has the id, email or external id {text!r}")],
        )
    return contact


def _contact(session: Session, contact: Contact, snapshot: RuleSnapshot) -> PreviewContact:
    history = purchase_histories(session, [contact.id], snapshot).get(contact.id, {})
    bought = sorted(history.items(), key=lambda item: (-item[1], item[0]))[:HISTORY_SHOWN]
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return PreviewContact(
        id=contact.id,
        external_id=contact.external_id,
        email=contact.email,
        name=name,
        history=[
            (snapshot.products[pid].name, snapshot.products[pid].sku, times)
            for pid, times in bought
        ],
        products=len(history),
    )
