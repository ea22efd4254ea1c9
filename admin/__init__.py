"""Marketer UI: Flask blueprints and server-rendered pages, plugged into the app."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from admin import (
    auth,
    campaign_wizard,
    campaigns,
    journeys,
    models,
    pages,
    recommendations,
    reports,
    segments,
    template_editor,
)
from admin.display import format_money, format_percent, format_value, format_when, last_day
from admin.sections import sections_for
from admin.security import csrf_field, current_user, guard_admin
from campaign_engine.errors import DomainError


def init_app(app: Flask) -> None:
    """Register the admin blueprint under /admin, its guard, and the redirect from /."""
    blueprint = Blueprint(
        "admin",
        __name__,
        url_prefix="/admin",
        template_folder="templates",
        static_folder="static",
    )
    auth.register(blueprint)
    pages.register(blueprint)
    segments.register(blueprint)
    campaigns.register(blueprint)
    campaign_wizard.register(blueprint)
    template_editor.register(blueprint)
    journeys.register(blueprint)
    reports.register(blueprint)
    models.register(blueprint)
    recommendations.register(blueprint)
    blueprint.register_error_handler(DomainError, render_domain_error)
    blueprint.context_processor(template_context)
    app.register_blueprint(blueprint)
    app.before_request(guard_admin)
    app.add_url_rule("/", "root", go_to_admin)


def go_to_admin() -> ResponseReturnValue:
    """Send visitors of / to the admin dashboard."""
    return redirect(url_for("admin.dashboard"))


def render_domain_error(error: DomainError) -> ResponseReturnValue:
    """Render a domain error as a page carrying its message."""
    return render_template("error.html", error=error), error.status


def template_context() -> dict[str, Any]:
    """Give every admin template the user, their navigation and the page helpers."""
    user = current_user()
    return {
        "current_user": user,
        "nav": sections_for(user.role) if user else [],
        "csrf_field": csrf_field,
        "when": format_when,
        "money": format_money,
        "pct": format_percent,
        "last_day": last_day,
        "show_value": format_value,
    }
