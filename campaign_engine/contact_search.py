"""Contact search for the admin UI: store totals, and contacts matching a query, paged."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import (
    Contact,
    Event,
    Order,
    Product,
)

PAGE_SIZE = 25
# Counting stops here so a broad search over millions of contacts never scans the whole table.


COUNT_CAP = 10_000
MAX_QUERY_LENGTH = 200
_LIKE_ESCAPE = "\\"
_PHONE_NOISE = re.compile(r"[\s().-]")
_PHONE_LIKE = re.compile(r"\+?[0-9]{6,17}")
_LAST_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class StoreTotals:
    """How many rows the store holds, for the dashboard."""

    contacts: int
    orders: int
    products: int
    events: int


@dataclass(frozen=True)
class ContactSummary:
    """One row of the contact list."""

    id: int
    external_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    city: str | None
    country: str | None
    lifecycle_stage: str
    created_at: datetime

    @property
    def name(self) -> str:
        """Return the full name, or an empty string."""
        return full_name(self.first_name, self.last_name)


@dataclass(frozen=True)
class ContactPage:
    """One page of contacts matching a search, with the (capped) number of matches."""

    query: str
    contacts: list[ContactSummary]
    page: int
    page_size: int
    total: int
    total_is_capped: bool

    @property
    def pages(self) -> int:
        """Return how many pages the (capped) matches fill."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_previous(self) -> bool:
        """Return whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Return whether a page comes after this one."""
        return self.page < self.pages


def count_store(session: Session) -> StoreTotals:
    """Count contacts, orders, products and events."""

    def count(model: type[Any]) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return StoreTotals(
        contacts=count(Contact), orders=count(Order), products=count(Product), events=count(Event)
    )


def search_contacts(
    session: Session, query: str = "", page: int = 1, page_size: int = PAGE_SIZE
) -> ContactPage:
    """Return one page of contacts whose email, name, external id or phone match `query`.

    External id and phone match exactly and email by prefix, all through their indexes; names
    match by case-insensitive prefix, a scan that LIMIT stops early. Counting stops at
    COUNT_CAP matches, and pages never reach past it.
    """
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            "search is too long",
            [Problem("q", f"use at most {MAX_QUERY_LENGTH} characters")],
        )
    last_page = max(1, math.ceil(COUNT_CAP / page_size))
    page = min(max(page, 1), last_page)
    offset = (page - 1) * page_size
    conditions = [_matches(query)] if query else []
    rows = session.execute(
        select(
            Contact.id,
            Contact.external_id,
            Contact.email,
            Contact.phone,
            Contact.first_name,
            Contact.last_name,
            Contact.city,
            Contact.country,
            Contact.lifecycle_stage,
            Contact.created_at,
        )
        .where(*conditions)
        .order_by(Contact.id.desc())
        .limit(page_size)
        .offset(offset)
    ).all()
    if 0 < len(rows) < page_size or (page == 1 and not rows):
        total = offset + len(rows)  # the last page: no need to count again
    else:
        capped = select(Contact.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped)) or 0
    contacts = [ContactSummary(**row._asdict()) for row in rows]
    return ContactPage(
        query=query,
        contacts=contacts,
        page=page,
        page_size=page_size,
        total=min(total, COUNT_CAP),
        total_is_capped=total > COUNT_CAP,
    )


def _matches(query: str) -> ColumnElement[bool]:
    lowered = query.lower()
    external_id = Contact.external_id == query
    if "@" in query:
        return or_(external_id, _email_starts_with(lowered))
    phone = _PHONE_NOISE.sub("", query)
    if _PHONE_LIKE.fullmatch(phone):
        return or_(external_id, Contact.phone.in_(_phone_forms(phone)))
    words = lowered.split()
    names = [_name_starts_with(Contact.first_name, lowered)]
    names.append(_name_starts_with(Contact.last_name, lowered))
    if len(words) > 1:
        first, last = words[0], " ".join(words[1:])
        names.append(
            and_(
                _name_starts_with(Contact.first_name, first),
                _name_starts_with(Contact.last_name, last),
            )
        )
    return or_(external_id, _email_starts_with(lowered), *names)


def _email_starts_with(prefix: str) -> ColumnElement[bool]:
    # Ingest stores emails lower-cased, so a range over the plain index finds the prefix on
    # both backends; LIKE keeps the result exact whatever the collation orders.
    return and_(
        Contact.email >= prefix,
        Contact.email < prefix + _LAST_CHAR,
        Contact.email.like(_escape_like(prefix) + "%", escape=_LIKE_ESCAPE),
    )


def _name_starts_with(
    column: InstrumentedAttribute[str | None], prefix: str
) -> ColumnElement[bool]:
    return func.lower(column).like(_escape_like(prefix) + "%", escape=_LIKE_ESCAPE)


def _phone_forms(phone: str) -> set[str]:
    # Ingest stores E.164 (+CC...); accept the number typed with 00 or without the plus.
    if phone.startswith("+"):
        return {phone}
    return {phone, "+" + phone.removeprefix("00")}


def _escape_like(text: str) -> str:
    for char in (_LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, _LIKE_ESCAPE + char)
    return text


def full_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part)
