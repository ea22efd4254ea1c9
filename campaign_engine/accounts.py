"""Users and API keys: create them, check passwords, authenticate Bearer keys by scope."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from campaign_engine.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    Unauthorized,
)
from campaign_engine.models import ROLES, SCOPES, ApiKey, User
from campaign_engine.models.types import utcnow

MIN_PASSWORD_LENGTH = 10
KEY_PREFIX = "ce"
# A fixed hash to compare against when no user matches, so timing does not reveal emails.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(
    session: Session, email: str, password: str, role: str, name: str | None = None
) -> User:
    """Add a user with a hashed password; reject duplicates, weak passwords and unknown roles."""
    email = email.strip().lower()
    problems = []
    if "@" not in email:
        problems.append(Problem("email", f"{email!r} is not an email address"))
    if role not in ROLES:
        problems.append(Problem("role", f"unknown role {role!r}; use one of {', '.join(ROLES)}"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("password", f"must be at least {MIN_PASSWORD_LENGTH} characters"))
    if problems:
        raise InvalidInput("cannot create user", problems)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    """Return the active user with this id, or None."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session, name: str, scopes: list[str], created_by_id: int | None = None
) -> tuple[ApiKey, str]:
    """Create a key with `scopes`; return the row and the token, which is shown only once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            "cannot create API key",
            [
                Problem(
                    "scopes",
                    f"unknown or missing scopes {unknown}; use some of {', '.join(SCOPES)}",
                )
            ],
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash_key(secret),
        scopes=" ".join(sorted(set(scopes))),
        created_by_id=created_by_id,
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def authenticate_api_key(session: Session, token: str | None, scope: str | None) -> ApiKey:
    """Return the key behind a Bearer token if it is valid and carries `scope` (None: any)."""
    if not token:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized("malformed API key")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if (
        key is None
        or key.revoked_at is not None
        or not hmac.compare_digest(key.key_hash, _hash_key(parts[2]))
    ):
        raise Unauthorized("unknown or revoked API key")
    if scope is not None and scope not in key.scope_set:
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    key.last_used_at = utcnow()
    return key


def reset_or_create_user(
    session: Session, email: str, password: str, role: str, name: str | None
) -> User:
    """Set the password of the user with `email`, creating the user when missing."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        return create_user(session, email, password, role, name)
    user.password_hash = generate_password_hash(password)
    user.role, user.active = role, True
    return user


def list_api_keys(session: Session) -> list[ApiKey]:
    """Return every API key, newest first."""
    return list(
        session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc()))
    )


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    """Revoke the key with `prefix`; it stops working at once."""
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound(
            f"no API key with prefix {prefix!r}; `campaign-engine apikeys list` shows them"
        )
    key.revoked_at = key.revoked_at or utcnow()
    return key
