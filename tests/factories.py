"""Plain factory functions for test data."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from campaign_engine.accounts import create_api_key, create_user
from campaign_engine.models import ApiKey, Contact, User

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_contact(session: Session, **fields: Any) -> Contact:
    """Add a contact with sensible defaults; `fields` override them."""
    n = next(_seq)
    values: dict[str, Any] = {
        "external_id": f"C{n:06d}",
        "email": f"person{n}@example.com",
        "first_name": "Pat",
        "last_name": f"Person{n}",
        "time_zone": "Europe/London",
    }
    values.update(fields)
    contact = Contact(**values)
    session.add(contact)
    session.flush()
    return contact


def make_user(session: Session, role: str = "admin", email: str | None = None) -> User:
    """Add a user whose password is `PASSWORD`."""
    return create_user(session, email or f"user{next(_seq)}@example.com", PASSWORD, role)


def make_api_key(session: Session, *scopes: str) -> tuple[ApiKey, str]:
    """Add an API key with `scopes` (default: ingest); return it and its token."""
    return create_api_key(session, f"key {next(_seq)}", list(scopes or ("ingest",)))
