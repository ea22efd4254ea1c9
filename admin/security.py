"""Admin access control: the signed-in user, login enforcement, role checks and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from campaign_engine.accounts import get_user
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.errors import DomainError, Forbidden
from campaign_engine.models import User

SESSION_USER = "admin_user_id"
SESSION_CSRF = "admin_csrf_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_ENDPOINTS = frozenset({"admin.show_login", "admin.login", "admin.static"})
_ROLES_ATTRIBUTE = "admin_roles"

View = TypeVar("View", bound=Callable[..., Any])


class CsrfRejected(DomainError):
    """A form arrived without the token this session issued."""

    status = 400
    code = "csrf_rejected"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as the pages see it: plain values, no ORM row."""

    id: int
    email: str
    name: str | None
    role: str

    @classmethod
    def from_user(cls, user: User) -> CurrentUser:
        """Copy what the pages need from a loaded `User` row."""
        return cls(id=user.id, email=user.email, name=user.name, role=user.role)

    @property
    def display_name(self) -> str:
        """Return the name, or the email when no name is stored."""
        return self.name or self.email


def role_required(*roles: str) -> Callable[[View], View]:
    """Declare which roles may open a view; views without a declaration are closed to all."""

    def declare(view: View) -> View:
        setattr(view, _ROLES_ATTRIBUTE, frozenset(roles))
        return view

    return declare


def allowed_roles(view: Callable[..., Any]) -> frozenset[str]:
    """Return the roles declared on `view` (empty when none were)."""
    roles: frozenset[str] = getattr(view, _ROLES_ATTRIBUTE, frozenset())
    return roles


def current_user() -> CurrentUser | None:
    """Return the user signed in for this request, if any."""
    user: CurrentUser | None = g.get("admin_user")
    return user


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def csrf_field() -> Markup:
    """Return the hidden form field that carries the CSRF token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def start_session(user: CurrentUser) -> None:
    """Sign `user` in on a fresh session, so nothing planted before login survives it."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


def end_session() -> None:
    """Sign out: forget the user and the CSRF token."""
    session.clear()


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def guard_admin() -> ResponseReturnValue | None:
    """Check CSRF, sign-in and role for every request under /admin."""
    if request.path != "/admin" and not request.path.startswith("/admin/"):
        return None
    if request.method in UNSAFE_METHODS:
        _check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = _load_user()
    if user is None:
        session.pop(SESSION_USER, None)
        here = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.show_login", next=here))
    g.admin_user = user
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and user.role not in allowed_roles(view):
        raise Forbidden(f"Your role ({user.role}) may not open this page.")
    return None


def _check_csrf() -> None:
    expected = session.get(SESSION_CSRF)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(expected, str) or not sent or not _same(expected, sent):
        raise CsrfRejected(
            "This form was not sent from this site or has expired. Reload the page and try again."
        )


def _same(expected: str, sent: str) -> bool:
    # compare_digest refuses non-ASCII str, and a forged token may hold anything.
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))


def _load_user() -> CurrentUser | None:
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    with transaction(current_runtime().sessions) as db:
        user = get_user(db, user_id)
        return None if user is None else CurrentUser.from_user(user)
