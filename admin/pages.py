"""Dashboard, contact browser and the placeholder pages of sections still to come."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from admin.sections import SECTIONS, Section, roles_for
from admin.security import role_required
from campaign_engine.app import current_runtime
from campaign_engine.contact_detail import get_contact_detail
from campaign_engine.contact_search import count_store, search_contacts
from campaign_engine.db import transaction

# Ids are BIGINT; a larger number in the URL is simply not found.
MAX_ID = 2**63 - 1


@role_required(*roles_for("dashboard"))
def dashboard() -> ResponseReturnValue:
    """Show how much the store holds."""
    with transaction(current_runtime().sessions) as session:
        totals = count_store(session)
    return render_template("dashboard.html", totals=totals)


@role_required(*roles_for("contacts"))
def contacts() -> ResponseReturnValue:
    """List contacts matching the search, one page at a time."""
    query = request.args.get("q", "")
    page = request.args.get("page", 1, type=int)
    with transaction(current_runtime().sessions) as session:
        result = search_contacts(session, query, page)
    return render_template("contacts.html", result=result)


@role_required(*roles_for("contacts"))
def contact(contact_id: int) -> ResponseReturnValue:
    """Show one contact: profile, consents, recent orders and events."""
    with transaction(current_runtime().sessions) as session:
        detail = get_contact_detail(session, contact_id)
    return render_template("contact.html", detail=detail)


def placeholder(section: Section) -> ResponseReturnValue:
    """Say plainly that this section is not available yet."""
    return render_template("placeholder.html", section=section)


def register(blueprint: Blueprint) -> None:
    """Add the page routes to `blueprint`."""
    blueprint.add_url_rule("/", "dashboard", dashboard)
    blueprint.add_url_rule("/contacts", "contacts", contacts)
    blueprint.add_url_rule(f"/contacts/<int(max={MAX_ID}):contact_id>", "contact", contact)
    for section in SECTIONS:
        if not section.ready:
            view = role_required(*section.roles)(partial(placeholder, section))
            blueprint.add_url_rule(f"/{section.endpoint}", section.endpoint, view)
