"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin.sections import EVERYONE
from admin.security import CurrentUser, end_session, role_required, safe_next, start_session
from campaign_engine.accounts import authenticate_user
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction

LOGIN_FAILED = "That email and password do not match an active account."


def show_login() -> ResponseReturnValue:
    """Show the sign-in form."""
    next_url = safe_next(request.args.get("next"))
    return render_template("login.html", next_url=next_url, email="", error=None)


def login() -> ResponseReturnValue:
    """Check the email and password; on success start a fresh session and go on."""
    email = request.form.get("email", "")
    next_url = safe_next(request.form.get("next"))
    with transaction(current_runtime().sessions) as session:
        user = authenticate_user(session, email, request.form.get("password", ""))
        signed_in = None if user is None else CurrentUser.from_user(user)
    if signed_in is None:
        page = render_template("login.html", next_url=next_url, email=email, error=LOGIN_FAILED)
        return page, 401
    start_session(signed_in)
    return redirect(next_url or url_for("admin.dashboard"))


@role_required(*EVERYONE)
def logout() -> ResponseReturnValue:
    """Sign out and return to the sign-in form."""
    end_session()
    return redirect(url_for("admin.show_login"))


def register(blueprint: Blueprint) -> None:
    """Add the sign-in and sign-out routes to `blueprint`."""
    blueprint.add_url_rule("/login", "show_login", show_login, methods=["GET"])
    blueprint.add_url_rule("/login", "login", login, methods=["POST"])
    blueprint.add_url_rule("/logout", "logout", logout, methods=["POST"])
