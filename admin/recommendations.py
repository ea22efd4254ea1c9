"""Recommendations section: rule sets, the rule explorer, one item's rules, and the preview.

Nothing here mines: rule sets come from the scheduler's `rules-refresh` job or the
`campaign-engine rules mine` command. Activating a set is the one change made here.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin.pages import MAX_ID
from admin.sections import ADMIN, ANALYST, roles_for
from admin.security import current_user, role_required
from campaign_engine.api.personalise import storefront_of
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.errors import DomainError
from campaign_engine.models.recommend import RULE_LEVELS
from campaign_engine.models.types import utcnow
from campaign_engine.recommend import explorer
from campaign_engine.recommend.preview import parse_preview_query, preview
from campaign_engine.recommend.ruleset import activate_rule_set

VIEWERS = roles_for("recommendations")
# Which rules the storefront and the messages use is the analysts' call.
ACTIVATORS = (ADMIN, ANALYST)


@role_required(*VIEWERS)
def rule_sets() -> ResponseReturnValue:
    """List the stored rule sets, the active one marked."""
    runtime = current_runtime()
    with transaction(runtime.sessions) as session:
        rows = explorer.rule_set_rows(session)
    return render_template(
        "recommendations.html",
        rule_sets=rows,
        settings=runtime.settings.recommend,
        may_activate=_may_activate(),
    )


@role_required(*ACTIVATORS)
def activate(rule_set_id: int) -> ResponseReturnValue:
    """Make a rule set the active one; the storefront and the messages use it from now on."""
    try:
        with transaction(current_runtime().sessions) as session:
            done = activate_rule_set(session, rule_set_id, utcnow())
    except DomainError as error:
        flash(f"{error.message}.", "error")
    else:
        storefront_of(current_app.extensions).rules.invalidate()
        flash(f"Rule set {done.id} is active: the storefront and messages use it now.", "done")
    return redirect(url_for("admin.recommendations"), 303)


@role_required(*VIEWERS)
def rules(rule_set_id: int) -> ResponseReturnValue:
    """Show a rule set's rules, filtered, sorted and paged by the query string."""
    query = explorer.parse_rule_query(request.args)
    with transaction(current_runtime().sessions) as session:
        page = explorer.rule_page(session, rule_set_id, query)
    return render_template(
        "recommendation_rules.html", page=page, levels=RULE_LEVELS, sorts=explorer.SORTS
    )


@role_required(*VIEWERS)
def product(rule_set_id: int, sku: str) -> ResponseReturnValue:
    """Show the rules naming one product: what its buyers also buy, what leads to it."""
    return _item(rule_set_id, "product", sku)


@role_required(*VIEWERS)
def category(rule_set_id: int, name: str) -> ResponseReturnValue:
    """Show the category-level rules naming one category."""
    return _item(rule_set_id, "category", name)


def _item(rule_set_id: int, level: str, key: str) -> ResponseReturnValue:
    with transaction(current_runtime().sessions) as session:
        view = explorer.item_view(session, rule_set_id, level, key)
    return render_template("recommendation_item.html", view=view)


@role_required(*VIEWERS)
def preview_page() -> ResponseReturnValue:
    """Show what a contact or a basket would be shown on the storefront and in messages."""
    runtime = current_runtime()
    query = parse_preview_query(request.args)
    shown, error = None, None
    if query.asked:
        rules = storefront_of(current_app.extensions).rules
        try:
            with transaction(runtime.sessions) as session:
                shown = preview(session, rules, runtime.settings.recommend, query, utcnow())
        except DomainError as refused:  # an unknown contact or SKU: say so beside the form
            error = refused
    page = render_template("recommendation_preview.html", query=query, preview=shown, error=error)
    return page, error.status if error else 200


def _may_activate() -> bool:
    user = current_user()
    return user is not None and user.role in ACTIVATORS


def register(blueprint: Blueprint) -> None:
    """Add the recommendations pages and the activate action to `blueprint`."""
    one = f"/recommendations/sets/<int(max={MAX_ID}):rule_set_id>"
    blueprint.add_url_rule("/recommendations", "recommendations", rule_sets)
    blueprint.add_url_rule(f"{one}/activate", "activate_rule_set", activate, methods=["POST"])
    blueprint.add_url_rule(one, "recommendation_rules", rules)
    blueprint.add_url_rule(f"{one}/products/<path:sku>", "recommendation_product", product)
    blueprint.add_url_rule(f"{one}/categories/<path:name>", "recommendation_category", category)
    blueprint.add_url_rule("/recommendations/preview", "recommendation_preview", preview_page)
